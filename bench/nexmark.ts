/**
 * Nexmark: the sustainable rate of the Nexmark queries (bench/nexmark.yaml), each alone
 * and the Flink set together, beside the published Flink figures per core and the raw
 * node:sqlite upsert rate of the same events. Prints one JSON line, and a table on stderr.
 *
 *   deno run -A bench/nexmark.ts [--quick] [--queries q0,q4] [--extras] [--no-alone]
 *                                [--no-together] [--together-start 5000] [--warmup 3]
 *                                [--steady 11] [--trials 4]
 *
 * A rate R is sustainable for a set of queries if, with the engine (a fresh `litejoin
 * run` process and data directory) fed the Nexmark stream at R events/s over HTTP, after
 * a warm-up (with a session window, until sessions begin to close), for a steady period
 * (run on, up to 3x, until every window has closed one in it): every join's lag and every window's close delay stays within 1 s
 * (`_nexmark_verdict.ts`), and acceptance keeps the offered rate: the backlog
 * of events due and not yet accepted grows by at most 1 s of the stream over the period,
 * and never holds more than 5 s (a steady backlog is the commit latency, reported as
 * `accept_p99_ms`). The search starts at the rate the engine sustains with no query at
 * all (ingest alone, found from the most it accepts), divides by 4 on failure, then
 * bisects; a trial stops at its first failing check. Engine cores are its process's CPU
 * time over wall time during the steady period (/proc/<pid>/stat), and events/s per core
 * is the sustained rate over them.
 */
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import { table } from "./_observe.ts";
import { NexmarkGenerator } from "./_nexmark_gen.ts";
import { allQueries, CORE, EXTRAS, FLINK_PER_CORE, LEFT_OUT } from "./_nexmark_config.ts";
import {
  nice,
  round,
  saturatedRate,
  type Search,
  search,
  type SearchOptions,
  TOPIC,
  type Trial,
} from "./_nexmark_trial.ts";
import type { QueryVerdict } from "./_nexmark_verdict.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    queries: { type: "string" },
    extras: { type: "boolean", default: false },
    "no-alone": { type: "boolean", default: false },
    "no-together": { type: "boolean", default: false },
    "together-start": { type: "string" },
    warmup: { type: "string" },
    steady: { type: "string" },
    trials: { type: "string" },
  },
});
const QUICK = values.quick;
const WARMUP_S = Number(values.warmup ?? (QUICK ? 2 : 3));
/** Long enough for a 10 s tumbling window (+1 s grace) to close inside it. */
const STEADY_S = Number(values.steady ?? (QUICK ? 6 : 11));
const TOGETHER_STEADY_S = Math.max(STEADY_S, QUICK ? 6 : 15);
const TRIALS = Number(values.trials ?? (QUICK ? 2 : 4));
const BOUND_S = 1;
const TARGET_TOGETHER = 20_000;
const MIN_RATE = 250;
const RAW_EVENTS = QUICK ? 50_000 : 200_000;

const ALONE = values["no-alone"]
  ? []
  : values.queries?.split(",") ?? (values.extras ? [...CORE, ...EXTRAS] : CORE);
const unknown = ALONE.filter((q) => !allQueries().includes(q));
if (unknown.length) {
  console.error(
    `bench/nexmark.yaml has no query ${unknown.join(", ")} (have: ${allQueries().join(", ")})`,
  );
  Deno.exit(2);
}
const started = performance.now();
const elapsed = () => `${Math.round((performance.now() - started) / 1000)} s`;
const log = (line: string) => console.error(`nexmark [${elapsed()}] ${line}`);
const options: SearchOptions = {
  warmupS: WARMUP_S,
  boundS: BOUND_S,
  trials: TRIALS,
  minRate: MIN_RATE,
  log,
};

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

const saturated = await saturatedRate(QUICK ? 2 : 4);
log(`ingest alone accepts up to ${Math.round(saturated)} events/s posting flat out`);
const ingest = await search(
  "ingest only",
  [],
  nice(saturated * 0.9),
  nice(saturated * 1.15),
  STEADY_S,
  options,
);
const cap = Math.max(ingest.sustained, MIN_RATE);

const alone: Record<string, Search> = {};
for (const q of ALONE) alone[q] = await search(q, [q], cap, cap, STEADY_S, options);

let together: Search | undefined;
if (!values["no-together"]) {
  const bounds = CORE.map((q) => alone[q]?.sustained).filter((r) => r !== undefined);
  // Together is at most the slowest alone: start there, and halve on failure.
  const start = values["together-start"]
    ? Number(values["together-start"])
    : bounds.length
    ? Math.max(MIN_RATE, Math.min(...bounds))
    : cap;
  together = await search("together", CORE, start, cap, TOGETHER_STEADY_S, {
    ...options,
    descent: 2,
  });
}

const perCore = (s: Search) =>
  s.best && s.best.engine_cores > 0 ? Math.round(s.sustained / s.best.engine_cores) : null;
const summary = (s: Search, q?: string) => ({
  mode: q ? s.modes[q] ?? "" : undefined,
  sustained_events_per_s: s.sustained,
  failed_at: s.failed_at,
  limited_by_ingest: s.failed_at === null && s.sustained >= cap,
  engine_cores: s.best?.engine_cores ?? null,
  events_per_core: perCore(s),
  flink_per_core: q ? FLINK_PER_CORE[q] ?? null : undefined,
  ratio_to_raw_upserts: round(s.sustained / raw, 3),
  // The query's lag (joins) or close delay (windows) in the sustained trial.
  verdict: q ? brief(s.best?.verdicts.find((v) => v.name === q)) : undefined,
  // Windows that closed none in the sustained trial: their pass says nothing of closes.
  no_close: s.best?.no_close ?? [],
  failure: s.failure.slice(0, 3),
  trials: s.trials,
});

/** A verdict without its name and kind. */
function brief(v: QueryVerdict | undefined) {
  if (!v) return null;
  const { name: _name, kind: _kind, ok: _ok, reasons: _reasons, ...rest } = v;
  return rest;
}

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
  (s.limited_by_ingest ? `≥ ${s.sustained_events_per_s}` : String(s.sustained_events_per_s)) +
  (s.no_close.length ? " (no close)" : ""),
  s.failed_at ?? "-",
  s.engine_cores ?? "-",
  s.events_per_core ?? "-",
  s.flink_per_core ?? "-",
]);
if (togetherSummary) {
  rows.push([
    "together",
    "",
    String(togetherSummary.sustained_events_per_s) +
    (togetherSummary.no_close.length ? ` (no close: ${togetherSummary.no_close.join(", ")})` : ""),
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
  machine: {
    cpus: navigator.hardwareConcurrency,
    load_average: loadAverage,
    load_average_end: Deno.loadavg(),
  },
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
