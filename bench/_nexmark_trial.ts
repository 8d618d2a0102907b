/**
 * One trial of the Nexmark benchmark (a fresh engine fed the stream at a fixed rate, then
 * judged over a steady period) and the search for the highest rate that passes. See
 * bench/nexmark.ts for the definition of a sustainable rate.
 */
import { cpuUsage } from "node:process";
import { type Config, parseConfig } from "../engine/config/load.ts";
import { windowPlans } from "../engine/indexes.ts";
import { spawnEngine } from "../tests/_process.ts";
import { metrics } from "./_observe.ts";
import { loadSideInput, NexmarkLoad } from "./_nexmark_load.ts";
import { WindowModel } from "./_nexmark_windows.ts";
import { type QueryVerdict, SteadyJudge } from "./_nexmark_verdict.ts";
import { configFor } from "./_nexmark_config.ts";

/** The topic each kind of event goes to. */
export const TOPIC = { person: "persons", auction: "auctions", bid: "bids" } as const;
/** A backlog of this many seconds of the stream fails a trial at once. */
const BACKLOG_MAX_S = 5;
/** The longest warm-up, waiting for session windows to close. */
const MAX_WARMUP_S = 30;

export interface TrialOptions {
  warmupS: number;
  /** The bound on lag, close delay and the growth of the backlog, seconds. */
  boundS: number;
}

export interface SearchOptions extends TrialOptions {
  /** Most trials in one search. */
  trials: number;
  /** The lowest rate tried. */
  minRate: number;
  /** What a failure before any pass divides the rate by (4). */
  descent?: number;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export interface Trial {
  rate: number;
  ok: boolean;
  reasons: string[];
  accepted_per_s: number;
  /** How much the backlog of unaccepted events grew over the period, seconds of the stream. */
  backlog_growth_s: number;
  /** From an event falling due to the 202 for its request, 99th percentile. */
  accept_p99_ms: number;
  engine_cores: number;
  /** This process's (the load generator's) CPU time over wall time, in the same period. */
  client_cores: number;
  verdicts: QueryVerdict[];
  /**
   * Windows that closed no window in the period, though it ran to 3x its length (q11's
   * sessions close only once their bidders stop: at low rates, after the trial).
   */
  no_close: string[];
  modes: Record<string, string>;
}

/** User and system CPU seconds of a process so far, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime of all its threads, in clock ticks (USER_HZ, 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Each join's mode, from the engine's startup log. */
function joinModes(log: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of log.matchAll(/join (\S+): reads .*?, mode (\w+) \((.*)\), sinks /g)) {
    out[m[1]] = `${m[2]} (${m[3]})`;
  }
  return out;
}

/** How each window reads its topics, as `litejoin validate` says it. */
function windowModes(config: Config): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, plan] of windowPlans(config)) {
    out[name] = `window (${
      plan.scans.length
        ? `reads all of ${plan.scans.join(", ")} for every window`
        : `reads through index ${plan.searches.join(", ")}`
    })`;
  }
  return out;
}

/** Runs `queries` at `rate` events/s: fresh engine, warm-up, then a steady period. */
export async function trial(
  queries: readonly string[],
  rate: number,
  steadyS: number,
  o: TrialOptions,
): Promise<Trial> {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-nexmark-" });
  const yaml = configFor(queries);
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, yaml);
  const config = parseConfig(yaml, `${dir}/litejoin.yaml`);
  const models = config.windows.map((w) =>
    new WindowModel(w, config.windowSql.get(w.name)?.topic ?? "")
  );
  const engine = await spawnEngine(dir);
  const result: Trial = {
    rate,
    ok: false,
    reasons: [],
    accepted_per_s: 0,
    backlog_growth_s: 0,
    accept_p99_ms: 0,
    engine_cores: NaN,
    client_cores: NaN,
    verdicts: [],
    no_close: [],
    modes: {},
  };
  let load: NexmarkLoad | undefined;
  try {
    if (queries.includes("q13")) await loadSideInput(engine.url);
    load = new NexmarkLoad({
      url: engine.url,
      rate,
      onEvent: (e) => {
        const payload = e.event as unknown as Record<string, unknown>;
        for (const m of models) m.observe(TOPIC[e.kind], payload, e.event.dateTime);
      },
    });
    load.start();
    result.modes = { ...joinModes(engine.log()), ...windowModes(config) };
    // Warm-up, and on until session windows have begun to close (up to 30 s), so that the
    // period sees them close at their steady rate. A run already seconds behind will not
    // recover.
    const warmEnd = performance.now() + o.warmupS * 1000;
    const warmLast = performance.now() + MAX_WARMUP_S * 1000;
    const closing = () => models.every((m) => !m.session || m.dueBy(Date.now()) > 0);
    while (
      performance.now() < warmEnd || (!closing() && performance.now() < warmLast)
    ) {
      const left = warmEnd - performance.now();
      await sleep(left > 0 ? Math.min(500, left) : 500);
      const backlog = load.period().backlogS;
      if (backlog > BACKLOG_MAX_S) {
        result.reasons.push(`acceptance ${round(backlog, 1)} s behind in the warm-up`);
        return result;
      }
    }
    const pid = engine.child.pid;
    const judge = new SteadyJudge(
      config.joins.map((j) => j.name),
      models,
      await metrics(engine.url),
      { boundSeconds: o.boundS },
    );
    const cpu0 = cpuSeconds(pid);
    const client0 = cpuUsage();
    const t0 = performance.now();
    load.mark();
    // The period runs on (to 3x) until every window has closed one in it.
    const end = t0 + steadyS * 1000;
    const last = t0 + 3 * steadyS * 1000;
    for (;;) {
      const until = performance.now() < end ? end : last;
      await sleep(Math.min(1000, until - performance.now()));
      const verdicts = judge.check(await metrics(engine.url), Date.now());
      const period = load.period();
      result.verdicts = verdicts;
      result.backlog_growth_s = round(period.growthS);
      result.accept_p99_ms = period.acceptP99Ms;
      result.accepted_per_s = Math.round(period.accepted / period.seconds);
      const wall = (performance.now() - t0) / 1000;
      const client = cpuUsage(client0);
      result.engine_cores = round((cpuSeconds(pid) - cpu0) / wall);
      result.client_cores = round((client.user + client.system) / 1e6 / wall);
      const reasons = verdicts.flatMap((v) => v.reasons.map((r) => `${v.name}: ${r}`));
      if (period.growthS > o.boundS || period.backlogS > BACKLOG_MAX_S) {
        reasons.push(
          `acceptance fell behind: ${round(period.backlogS, 1)} s of events waiting, ` +
            `${round(period.growthS, 1)} s more than at the start`,
        );
      }
      if (reasons.length) {
        result.reasons = reasons;
        return result;
      }
      result.no_close = verdicts.filter((v) => v.kind === "window" && v.observations === 0)
        .map((v) => v.name);
      const now = performance.now();
      if (now >= last - 50 || (now >= end - 50 && result.no_close.length === 0)) break;
    }
    result.ok = true;
    return result;
  } finally {
    load?.halt();
    engine.child.kill("SIGKILL");
    await engine.exited;
    await load?.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

export interface Search {
  /** The highest rate that passed (0: none did). */
  sustained: number;
  /** The lowest rate that failed, if any. */
  failed_at: number | null;
  /** The sustained trial, whose cores and verdicts are reported. */
  best: Trial | undefined;
  /** The lowest rate's failed trial, whose verdicts show what failed. */
  failedTrial: Trial | undefined;
  /** The first failure's reasons. */
  failure: string[];
  trials: {
    rate: number;
    ok: boolean;
    engine_cores: number;
    client_cores: number;
    accept_p99_ms: number;
    no_close: string[];
  }[];
  /** Each query's mode, from the startup log of a trial. */
  modes: Record<string, string>;
}

/**
 * The highest sustainable rate up to `cap`: tries `start`, divides by 4 (`descent`) while
 * it fails,
 * then bisects (geometrically) between the best pass and the lowest failure.
 */
export async function search(
  label: string,
  queries: readonly string[],
  start: number,
  cap: number,
  steadyS: number,
  o: SearchOptions,
): Promise<Search> {
  const out: Search = {
    sustained: 0,
    failed_at: null,
    best: undefined,
    failedTrial: undefined,
    failure: [],
    trials: [],
    modes: {},
  };
  let rate = Math.min(start, cap);
  for (let n = 0; n < o.trials; n++) {
    const t = await trial(queries, rate, steadyS, o);
    out.trials.push({
      rate,
      ok: t.ok,
      engine_cores: t.engine_cores,
      client_cores: t.client_cores,
      accept_p99_ms: t.accept_p99_ms,
      no_close: t.no_close,
    });
    out.modes = { ...t.modes, ...out.modes };
    o.log(
      `${label} @ ${rate}/s: ${t.ok ? "ok" : "FAIL"}, engine ${t.engine_cores} cores, ` +
        `load generator ${t.client_cores}` +
        (t.ok && t.no_close.length ? `, no window closed: ${t.no_close.join(", ")}` : "") +
        (t.ok ? "" : ` (${t.reasons.slice(0, 3).join("; ")})`),
    );
    if (t.ok) {
      out.sustained = rate;
      out.best = t;
    } else {
      out.failed_at = rate;
      out.failedTrial = t;
      out.failure = t.reasons;
    }
    let next: number;
    if (out.failed_at === null) {
      if (rate >= cap) break;
      next = Math.min(cap, rate * 2);
    } else if (out.sustained === 0) {
      if (rate <= o.minRate) break;
      next = Math.max(o.minRate, rate / (o.descent ?? 4));
    } else {
      if (out.failed_at / out.sustained <= 1.2) break;
      next = Math.sqrt(out.failed_at * out.sustained);
    }
    rate = nice(next);
  }
  return out;
}

/** Rounds to two significant digits. */
export function nice(rate: number): number {
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(rate)) - 1);
  return Math.round(rate / unit) * unit;
}

export const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** The most events/s the engine accepts with no query, posting as fast as it answers. */
export async function saturatedRate(seconds: number): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-nexmark-" });
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, configFor([]));
  const engine = await spawnEngine(dir);
  const load = new NexmarkLoad({ url: engine.url, rate: 40_000, saturate: true });
  try {
    load.start();
    await sleep(1000);
    load.mark();
    await sleep(seconds * 1000);
    const p = load.period();
    return p.accepted / p.seconds;
  } finally {
    load.halt();
    await load.stop().catch(() => {});
    engine.child.kill("SIGKILL");
    await engine.exited;
    await Deno.remove(dir, { recursive: true });
  }
}
