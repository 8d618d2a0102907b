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
  string,
  tagged,
} from "../schema/schema.ts";
import { componentName } from "../schema/common.ts";
import { topicName } from "../store/topics.ts";
import { duration, listen } from "../schema/units.ts";
import { MAX_SHARDS } from "../store/reader_db.ts";
import { sourceKinds } from "../sources/registry.ts";
import { sinkKinds } from "../sinks/registry.ts";
import { jsonPathProblem } from "../store/indexes.ts";
import { spec as dlqSpec } from "../dlq/dlq.ts";
import { tieringSpec } from "../tiers/spec.ts";
import { replicationSpec } from "../replication/litestream_config.ts";
import { corsSpec } from "../http/cors.ts";
import { staticSpec } from "../http/static.ts";
import { authSpec } from "../http/auth.ts";
import { tlsSpec } from "../http/tls.ts";
import { limitsSpec } from "../http/limits.ts";
import { windowSpec } from "../windows/config.ts";

type Specs<K extends Record<string, { spec: unknown }>> = { [N in keyof K]: K[N]["spec"] };
const specsOf = <K extends Record<string, { spec: unknown }>>(kinds: K) =>
  Object.fromEntries(Object.entries(kinds).map(([n, k]) => [n, k.spec])) as Specs<K>;

export const engineSpec = object({
  data_dir: string().default("./data").describe(
    "Directory of the shard, meta and DLQ databases; relative paths are relative to the config file.",
  ),
  shard_count: integer({ min: 1, max: MAX_SHARDS }).default(4).describe(
    `Number of shard files. Fixed once data exists (see litejoin reshard); at most ${MAX_SHARDS}.`,
  ),
  flush_interval: duration().default(10).describe(
    "Longest a message waits before its batch commits.",
  ),
  batch_size: integer({ min: 1, max: 1_000_000 }).default(1000).describe(
    "A shard commits as soon as this many messages wait.",
  ),
  readers_per_shard: integer({ min: 1, max: 64 }).default(4).describe(
    "Reader threads; each attaches every shard, so this is the number of queries that run at once.",
  ),
  retention: duration().default(24 * 3_600_000).describe(
    "Rows older than this (by timestamp) are deleted; 0 keeps everything.",
  ),
  retention_interval: duration().default(60_000).describe("How often retention runs."),
  synchronous: oneOf(["full", "normal"] as const).default("full").describe(
    "full: a commit survives power loss; normal: it survives a process crash only (faster).",
  ),
  max_backlog: integer({ min: 1 }).default(200_000).describe(
    "Uncommitted messages beyond which sources are told to back off (HTTP 503).",
  ),
  busy_timeout: duration().default(5000).describe("How long SQLite waits for a lock."),
  socket: string().optional().describe(
    "Path of the control socket (console, litejoin subcommands). Default: <data_dir>/litejoin.sock.",
  ),
});

export const httpSpec = object({
  listen: listen().default({ hostname: "127.0.0.1", port: 8080 }).describe(
    "Address of the HTTP listener (sources, SSE, /healthz, /metrics). Port 0 picks a free port.",
  ),
  cors: corsSpec.describe("Cross-origin access for browser pages served elsewhere."),
  static: list(staticSpec).default([]).describe(
    "Directories of static files served on the listener, e.g. a dashboard page.",
  ),
  auth: authSpec.describe(
    "Bearer tokens with scopes for every route but /healthz and /readyz (README: Security).",
  ),
  tls: tlsSpec.optional().describe("Serve HTTPS with this certificate and key."),
  limits: limitsSpec.describe("Timeouts, the connection cap and the default body limit."),
});

export const controlSpec = object({
  stats_interval: duration().default(1000).check((ms) =>
    ms >= 100 ? undefined : "must be at least 100ms"
  ).describe("How often the stats stream (console, litejoin status) is updated."),
  sql_timeout: duration().default(30_000).check((ms) => ms > 0 ? undefined : "must be above 0")
    .describe(
      "Longest a console query may run; it is then stopped (its process is killed).",
    ),
  sql_max_rows: integer({ min: 1, max: 100_000 }).default(10_000).describe(
    "Most rows one console query returns; the rest is cut off and the result marked truncated.",
  ),
  sql_processes: integer({ min: 1, max: 16 }).default(2).describe(
    "Console queries that may run at once, each in its own read-only process.",
  ),
});

export const logSpec = object({
  level: oneOf(["debug", "info", "warn", "error"] as const).default("info"),
  format: oneOf(["text", "json"] as const).default("text"),
});

export const topicSpec = object({
  name: topicName().describe("Topic name; a table of that name in every shard."),
  retention: duration().optional().describe("Overrides engine.retention for this topic."),
  indexes: list(string().check(jsonPathProblem)).default([]).describe(
    "Payload fields to index on every shard (json_extract(payload, path)), for SQL that filters on them.",
    ["customer_id", "$.address.city"],
  ),
});

export const sourceSpec = tagged({ name: componentName() }, specsOf(sourceKinds));
export const sinkSpec = tagged({ name: componentName() }, specsOf(sinkKinds));

export const joinSpec = object({
  name: componentName(),
  key: string().describe("The result column that identifies a result row.", "order_id"),
  sql: string().describe("One SELECT over topics."),
  sinks: list(componentName(), { min: 1 }).describe("Sinks that receive the changed results."),
  mode: oneOf(["auto", "delta", "full"] as const).default("auto").describe(
    "auto: delta evaluation when SQLite shows it is exact for the query, else full; " +
      "delta: require it; full: re-run the whole query after every batch.",
  ),
  on_eviction: oneOf(["retract", "keep"] as const).default("retract").describe(
    "When retention or tiering evicts a row a result came from: retract: deliver the " +
      "result's change (a delete, or an update for a LEFT JOIN), as if the row were deleted; " +
      "keep: leave the result as delivered (the join forgets it; needs delta evaluation).",
  ),
});

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
export type JoinConfig = Infer<typeof joinSpec>;
export type { WindowConfig } from "../windows/config.ts";
export type ParsedConfig = Infer<typeof configSpec>;
