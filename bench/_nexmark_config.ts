/**
 * The Nexmark pipeline of bench/nexmark.yaml, cut down to the queries one run needs:
 * the sources, the chosen joins and windows, and their sinks. Also what is compared
 * with what: the queries of the published Flink figures, the others LiteJoin runs, and
 * why the rest are left out.
 */
import { parse, stringify } from "yaml";

/** The queries of the published Flink figures: run alone, and together for the target. */
export const CORE = ["q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q9", "q11"];

/** The other Nexmark queries LiteJoin's SQL expresses: run alone with `--extras`. */
export const EXTRAS = [
  "q6",
  "q12",
  "q13",
  "q14",
  "q15",
  "q16",
  "q17",
  "q18",
  "q19",
  "q20",
  "q21",
  "q22",
];

/** Nexmark queries not in bench/nexmark.yaml, and why. */
export const LEFT_OUT: Record<string, string> = {
  q10: "its point is a sink writing files partitioned by date and hour; LiteJoin has no file " +
    "sink, and the query itself is q1's projection with two formatted columns",
};

/**
 * Published Flink figures: events/s per core, Flink 1.13 on 8 workers (Nexmark suite
 * results; q6 is not supported there).
 */
export const FLINK_PER_CORE: Record<string, number> = {
  q0: 155_000,
  q1: 158_000,
  q2: 175_000,
  q3: 152_000,
  q4: 34_000,
  q5: 22_000,
  q7: 12_000,
  q8: 146_000,
  q9: 14_000,
  q11: 40_000,
};

interface Named {
  name: string;
  sinks?: string[];
}

interface Pipeline {
  sources: Named[];
  joins: Named[];
  windows: Named[];
  sinks: Named[];
  [section: string]: unknown;
}

const FILE = new URL("./nexmark.yaml", import.meta.url);

/** bench/nexmark.yaml as written. */
export function pipelineText(): string {
  return Deno.readTextFileSync(FILE);
}

/** Every query bench/nexmark.yaml defines, joins first. */
export function allQueries(): string[] {
  const p = parse(pipelineText()) as Pipeline;
  return [...p.joins, ...p.windows].map((q) => q.name);
}

/**
 * A config with the sources of bench/nexmark.yaml, the queries named in `queries`
 * (none: ingest only) and their sinks; q13's side input source only with q13.
 */
export function configFor(queries: readonly string[]): string {
  const p = parse(pipelineText()) as Pipeline;
  const known = new Set([...p.joins, ...p.windows].map((q) => q.name));
  for (const q of queries) {
    if (!known.has(q)) throw new Error(`bench/nexmark.yaml has no query ${q}`);
  }
  const chosen = (items: Named[]) => items.filter((q) => queries.includes(q.name));
  const joins = chosen(p.joins);
  const windows = chosen(p.windows);
  const used = new Set([...joins, ...windows].flatMap((q) => q.sinks ?? []));
  const out: Pipeline = {
    ...p,
    sources: p.sources.filter((s) => s.name !== "side_input_in" || queries.includes("q13")),
    joins,
    windows,
    sinks: p.sinks.filter((s) => used.has(s.name)),
  };
  return stringify(out, { lineWidth: 0 });
}
