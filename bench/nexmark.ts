/**
 * Nexmark: the sustainable rate of the Nexmark queries (bench/nexmark.yaml), each alone
 * and the Flink set together, beside the published Flink figures per core and the raw
 * node:sqlite upsert rate of the same events. Prints one JSON line, and a table on stderr.
 *
 *   deno run -A bench/nexmark.ts [--quick] [--queries q0,q4] [--extras] [--no-alone]
 *                                [--no-together] [--warmup 4] [--steady 12] [--trials 4]
 *
 * A rate R is sustainable for a set of queries if, with the engine (a fresh `litejoin
 * run` process and data directory) fed the Nexmark stream at R events/s over HTTP, after
 * a warm-up, for a steady period: every join's lag and every window's close delay stays
 * within 1 s (`_nexmark_verdict.ts`), and acceptance keeps the offered rate: the backlog
 * of events due and not yet accepted grows by at most 1 s of the stream over the period,
 * and never holds more than 5 s (a steady backlog is the commit latency, reported as
 * `accept_p99_ms`). The search starts at the rate the engine sustains with no query at
 * all (ingest alone, found from the most it accepts), halves twice on failure and then
 * bisects; a trial stops at its first failing check. Engine cores are its process's CPU
 * time over wall time during the steady period (/proc/<pid>/stat), and events/s per core
 * is the sustained rate over them.
 */
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import { parseConfig } from "../engine/config/load.ts";
import { spawnEngine } from "../tests/_process.ts";
import { metrics, table } from "./_observe.ts";
import { NexmarkGenerator } from "./_nexmark_gen.ts";
import { loadSideInput, NexmarkLoad } from "./_nexmark_load.ts";
import { WindowModel } from "./_nexmark_windows.ts";
import { type QueryVerdict, SteadyJudge } from "./_nexmark_verdict.ts";
import { configFor, CORE, EXTRAS, FLINK_PER_CORE, LEFT_OUT } from "./_nexmark_config.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    queries: { type: "string" },
    extras: { type: "boolean", default: false },
    "no-alone": { type: "boolean", default: false },
    "no-together": { type: "boolean", default: false },
    warmup: { type: "string" },
    steady: { type: "string" },
    trials: { type: "string" },
  },
});
const QUICK = values.quick;
const WARMUP_S = Number(values.warmup ?? (QUICK ? 2 : 4));
/** Long enough for a 10 s tumbling window (+1 s grace) to close inside it. */
const STEADY_S = Number(values.steady ?? (QUICK ? 6 : 12));
const TOGETHER_STEADY_S = Math.max(STEADY_S, QUICK ? 6 : 15);
const TRIALS = Number(values.trials ?? (QUICK ? 2 : 4));
const BOUND_S = 1;
const TARGET_TOGETHER = 20_000;
const MIN_RATE = 250;
/** A backlog of this many seconds of the stream fails a trial at once. */
const BACKLOG_MAX_S = 5;
const RAW_EVENTS = QUICK ? 50_000 : 200_000;
const TOPIC = { person: "persons", auction: "auctions", bid: "bids" } as const;

const ALONE = values["no-alone"]
  ? []
  : values.queries?.split(",") ?? (values.extras ? [...CORE, ...EXTRAS] : CORE);
const started = performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const elapsed = () => `${Math.round((performance.now() - started) / 1000)} s`;
const log = (line: string) => console.error(`nexmark [${elapsed()}] ${line}`);

interface Trial {
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
  modes: Record<string, string>;
}

/** User and system CPU seconds of a process so far, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
  } catch {
    return NaN;
  }
}

/** Each join's and window's mode, from the engine's startup log. */
function modesFrom(log: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of log.matchAll(/join (\S+): reads .*?, mode (\w+) \((.*)\), sinks /g)) {
    out[m[1]] = `${m[2]} (${m[3]})`;
  }
  for (const m of log.matchAll(/window (\S+):.*?\bmode (\w+)(?: \((.*)\))?/g)) {
    out[m[1]] ??= m[3] ? `${m[2]} (${m[3]})` : m[2];
  }
  return out;
}

/** Runs `queries` at `rate` events/s: fresh engine, warm-up, then a steady period. */
async function trial(queries: string[], rate: number, steadyS: number): Promise<Trial> {
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
    result.modes = modesFrom(engine.log());
    // Warm-up; a run already seconds behind will not recover.
    const warmEnd = performance.now() + WARMUP_S * 1000;
    while (performance.now() < warmEnd) {
      await sleep(Math.min(1000, warmEnd - performance.now()));
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
    );
    const cpu0 = cpuSeconds(pid);
    const client0 = cpuUsage();
    const t0 = performance.now();
    load.mark();
    const end = t0 + steadyS * 1000;
    for (;;) {
      await sleep(Math.min(1000, end - performance.now()));
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
      if (period.growthS > BOUND_S || period.backlogS > BACKLOG_MAX_S) {
        reasons.push(
          `acceptance fell behind: ${round(period.backlogS, 1)} s of events waiting, ` +
            `${round(period.growthS, 1)} s more than at the start`,
        );
      }
      const done = performance.now() >= end - 50;
      if (reasons.length) {
        result.reasons = reasons;
        return result;
      }
      if (done) break;
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

interface Search {
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
  }[];
  /** Each query's mode, from the startup log of a trial. */
  modes: Record<string, string>;
}

/**
 * The highest sustainable rate up to `cap`: tries `start`, divides by 4 while it fails,
 * then bisects (geometrically) between the best pass and the lowest failure.
 */
async function search(
  label: string,
  queries: string[],
  start: number,
  cap: number,
  steadyS: number,
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
  for (let n = 0; n < TRIALS; n++) {
    const t = await trial(queries, rate, steadyS);
    out.trials.push({
      rate,
      ok: t.ok,
      engine_cores: t.engine_cores,
      client_cores: t.client_cores,
      accept_p99_ms: t.accept_p99_ms,
    });
    out.modes = { ...t.modes, ...out.modes };
    log(
      `${label} @ ${rate}/s: ${t.ok ? "ok" : "FAIL"}, engine ${t.engine_cores} cores, ` +
        `load generator ${t.client_cores}` +
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
      next = rate / 4;
      if (next < MIN_RATE) break;
    } else {
      if (out.failed_at / out.sustained <= 1.2) break;
      next = Math.sqrt(out.failed_at * out.sustained);
    }
    rate = nice(next);
  }
  return out;
}

/** Rounds to two significant digits. */
function nice(rate: number): number {
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(rate)) - 1);
  return Math.round(rate / unit) * unit;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** Raw single-writer upserts of the same events into three tables, 1,000 per transaction. */
function rawUpsertRate(dir: string): number {
  const gen = new NexmarkGenerator({ rate: 10_000, baseTime: Date.now() });
  const events = Array.from({ length: RAW_EVENTS }, () => gen.event());
  const db = new DatabaseSync(`${dir}/raw.db`);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL");
  const upsert: Record<string, ReturnType<DatabaseSync["prepare"]>> = {};
  for (const topic of Object.values(TOPIC)) {
    db.exec(
      `CREATE TABLE ${topic} (key TEXT PRIMARY KEY, payload TEXT NOT NULL, timestamp INTEGER NOT NULL);
       CREATE INDEX ${topic}_timestamp ON ${topic}(timestamp)`,
    );
    upsert[topic] = db.prepare(
      `INSERT OR REPLACE INTO ${topic} (key, payload, timestamp) VALUES (?, ?, ?)`,
    );
  }
  const t0 = performance.now();
  for (let b = 0; b < events.length; b += 1000) {
    db.exec("BEGIN");
    for (const e of events.slice(b, b + 1000)) {
      upsert[TOPIC[e.kind]].run(String(e.event.id), JSON.stringify(e.event), Date.now());
    }
    db.exec("COMMIT");
  }
  const rate = events.length / ((performance.now() - t0) / 1000);
  db.close();
  return rate;
}

/** The most events/s the engine accepts with no query, posting as fast as it answers. */
async function saturatedRate(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-nexmark-" });
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, configFor([]));
  const engine = await spawnEngine(dir);
  const load = new NexmarkLoad({ url: engine.url, rate: 40_000, saturate: true });
  try {
    load.start();
    await sleep(1000);
    load.mark();
    await sleep(QUICK ? 2000 : 4000);
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

function commit(): string | null {
  try {
    const out = new Deno.Command("git", {
      args: ["rev-parse", "--short", "HEAD"],
      cwd: new URL(".", import.meta.url).pathname,
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

// ---- the run --------------------------------------------------------------

const loadAverage = Deno.loadavg();
const cpuAtStart = cpuUsage();
const rawDir = await Deno.makeTempDir({ prefix: "litejoin-nexmark-raw-" });
const raw = rawUpsertRate(rawDir);
await Deno.remove(rawDir, { recursive: true });
log(`raw node:sqlite upserts: ${Math.round(raw)} events/s`);

const saturated = await saturatedRate();
log(`ingest alone accepts up to ${Math.round(saturated)} events/s posting flat out`);
const ingest = await search("ingest only", [], nice(saturated * 0.9), Infinity, STEADY_S);
const cap = Math.max(ingest.sustained, MIN_RATE);

const alone: Record<string, Search> = {};
for (const q of ALONE) alone[q] = await search(q, [q], cap, cap, STEADY_S);

let together: Search | undefined;
if (!values["no-together"]) {
  const bounds = CORE.map((q) => alone[q]?.sustained).filter((r) => r !== undefined);
  const start = bounds.length ? Math.max(MIN_RATE, Math.min(...bounds)) : cap;
  together = await search("together", CORE, start, cap, TOGETHER_STEADY_S);
}

const perCore = (s: Search) =>
  s.best && s.best.engine_cores > 0 ? Math.round(s.sustained / s.best.engine_cores) : null;
const summary = (s: Search, q?: string) => ({
  mode: q ? s.modes[q] ?? "window (evaluated at each close)" : undefined,
  sustained_events_per_s: s.sustained,
  failed_at: s.failed_at,
  limited_by_ingest: s.failed_at === null && s.sustained >= cap,
  engine_cores: s.best?.engine_cores ?? null,
  events_per_core: perCore(s),
  flink_per_core: q ? FLINK_PER_CORE[q] ?? null : undefined,
  p99_s: q ? s.best?.verdicts.find((v) => v.name === q)?.p99_s ?? null : undefined,
  failure: s.failure.slice(0, 3),
  trials: s.trials,
});

const queries = Object.fromEntries(Object.entries(alone).map(([q, s]) => [q, summary(s, q)]));
const togetherSummary = together && {
  queries: CORE,
  ...summary(together),
  // Each query's lag or close delay in the sustained trial, and in the lowest failed one.
  per_query: Object.fromEntries(CORE.map((q) => {
    const at = (t: Trial | undefined) => {
      const v = t?.verdicts.find((v) => v.name === q);
      return v && { ok: v.ok, p99_s: v.p99_s, late: v.late, n: v.observations };
    };
    return [q, { sustained: at(together.best), failed: at(together.failedTrial) }];
  })),
  ratio_to_raw_upserts: round(together.sustained / raw, 3),
};
const targetMet = together ? together.sustained >= TARGET_TOGETHER : null;
const client = cpuUsage(cpuAtStart);

const rows = Object.entries(queries).map(([q, s]) => [
  q,
  (s.mode ?? "").split(" ")[0],
  s.limited_by_ingest ? `≥ ${s.sustained_events_per_s}` : String(s.sustained_events_per_s),
  s.failed_at ?? "-",
  s.engine_cores ?? "-",
  s.events_per_core ?? "-",
  s.flink_per_core ?? "-",
]);
if (togetherSummary) {
  rows.push([
    "together",
    "",
    String(togetherSummary.sustained_events_per_s),
    togetherSummary.failed_at ?? "-",
    togetherSummary.engine_cores ?? "-",
    togetherSummary.events_per_core ?? "-",
    "-",
  ]);
}
rows.push([
  "ingest only",
  "",
  String(ingest.sustained),
  ingest.failed_at ?? "-",
  ingest.best?.engine_cores ?? "-",
  perCore(ingest) ?? "-",
  "-",
]);
console.error(
  "\n" + table(
    ["query", "mode", "sustained ev/s", "fails at", "engine cores", "ev/s/core", "Flink ev/s/core"],
    rows,
  ),
);
console.error(
  `raw node:sqlite upserts ${Math.round(raw)} events/s; ` +
    (together ? `together/raw ${round(together.sustained / raw, 3)}; ` : "") +
    `left out: ${Object.keys(LEFT_OUT).join(", ")}; ${elapsed()} in all`,
);
if (together) {
  console.error(
    `${targetMet ? "PASS" : "FAIL"}: the ${CORE.length} queries together sustain ` +
      `${together.sustained} events/s with results within ${BOUND_S} s (target ≥ ${TARGET_TOGETHER})`,
  );
}

console.log(JSON.stringify({
  bench: "nexmark",
  date: new Date().toISOString(),
  commit: commit(),
  machine: { cpus: navigator.hardwareConcurrency, load_average: loadAverage },
  cores_counted_as: "engine process CPU time / wall time over the steady period (/proc/<pid>/stat)",
  timing: { warmup_s: WARMUP_S, steady_s: STEADY_S, together_steady_s: TOGETHER_STEADY_S },
  bound_s: BOUND_S,
  raw_upserts_per_s: Math.round(raw),
  ingest_only: {
    saturated_accepted_per_s: Math.round(saturated),
    ...summary(ingest),
    ratio_to_raw_upserts: round(ingest.sustained / raw, 3),
  },
  queries,
  together: togetherSummary ?? null,
  left_out: LEFT_OUT,
  client_cpu_s: round((client.user + client.system) / 1e6, 1),
  seconds: Math.round((performance.now() - started) / 1000),
  targets: { together_events_per_s: TARGET_TOGETHER, bound_s: BOUND_S },
  target_met: { together: targetMet },
}));
