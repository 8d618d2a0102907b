/**
 * The shape of `litejoin.yaml`: every field with its type, default and description.
 * Defaults follow the reference documents (`../shared/reference/`).
 */
import {
  boolean as _boolean,
  type Infer,
  integer,
  list,
  object,
  oneOf,
  tagged,
} from "../schema/schema.ts";
import { componentName } from "../schema/common.ts";
import { duration } from "../schema/units.ts";
import { sourceKinds } from "../sources/registry.ts";
import { sinkKinds } from "../sinks/registry.ts";
import { spec as dlqSpec } from "../dlq/dlq.ts";
import { tieringSpec } from "../tiers/spec.ts";
import { replicationSpec } from "../replication/litestream_config.ts";
import { windowSpec } from "../windows/config.ts";
import { engineSpec, topicSpec } from "../store/spec.ts";
import { httpSpec } from "../http/spec.ts";
import { joinSpec } from "../joins/spec.ts";

export { engineSpec, httpSpec, joinSpec, topicSpec };

type Specs<K extends Record<string, { spec: unknown }>> = { [N in keyof K]: K[N]["spec"] };
const specsOf = <K extends Record<string, { spec: unknown }>>(kinds: K) =>
  Object.fromEntries(Object.entries(kinds).map(([n, k]) => [n, k.spec])) as Specs<K>;

export const controlSpec = object({
  stats_interval: duration().default(1000).check((ms) =>
    ms >= 100 ? undefined : "must be at least 100ms"
  ).describe(
    "How often the stats stream (console, litejoin status) is updated and pushed (at least 100ms).",
  ),
  sql_timeout: duration().default(30_000).check((ms) => ms > 0 ? undefined : "must be above 0")
    .describe(
      "Longest a console query may run; it is then stopped (its process is killed). " +
        "A client may ask for less.",
    ),
  sql_max_rows: integer({ min: 1, max: 100_000 }).default(10_000).describe(
    "Most rows one console query returns; the rest is cut off and the result marked truncated.",
  ),
  sql_processes: integer({ min: 1, max: 16 }).default(2).describe(
    "Console queries that may run at once, each in its own read-only process (kept 60 s after " +
      "its last query).",
  ),
});

export const logSpec = object({
  level: oneOf(["debug", "info", "warn", "error"] as const).default("info").describe(
    "Least severe level written to stderr.",
  ),
  format: oneOf(["text", "json"] as const).default("text").describe(
    "text: one line per event; json: one JSON object per line.",
  ),
});

export const sourceSpec = tagged({
  name: componentName().describe(
    "Name of the source, used in logs, metrics and state.",
    "orders_in",
  ),
}, specsOf(sourceKinds));
export const sinkSpec = tagged({
  name: componentName().describe(
    "Name of the sink, as joins and windows list it in their sinks; used in logs, metrics and the DLQ.",
    "results_db",
  ),
}, specsOf(sinkKinds));

export const configSpec = object({
  engine: engineSpec,
  http: httpSpec,
  log: logSpec,
  control: controlSpec,
  topics: list(topicSpec).default([]).describe(
    "Topics beyond those that sources write, and per-topic settings.",
  ),
  sources: list(sourceSpec).default([]),
  joins: list(joinSpec).default([]),
  windows: list(windowSpec).default([]),
  sinks: list(sinkSpec).default([]),
  dlq: dlqSpec.describe(
    "The dead-letter queue: failed deliveries kept in data_dir/dlq.db and retried.",
  ),
  tiering: tieringSpec,
  replication: replicationSpec,
});

export type SourceConfig = Infer<typeof sourceSpec>;
export type SinkConfig = Infer<typeof sinkSpec>;
export type { JoinConfig } from "../joins/spec.ts";
export type { WindowConfig } from "../windows/config.ts";
export type ParsedConfig = Infer<typeof configSpec>;
