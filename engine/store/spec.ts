/** The config sections the store reads: `engine` (shards, batching, retention) and `topics`. */
import { type Infer, integer, list, object, oneOf, string } from "../schema/schema.ts";
import { duration } from "../schema/units.ts";
import { MAX_SHARDS } from "./reader_db.ts";
import { jsonPathProblem } from "./indexes.ts";
import { topicName } from "./topics.ts";

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

export const topicSpec = object({
  name: topicName().describe("Topic name; a table of that name in every shard."),
  retention: duration().optional().describe("Overrides engine.retention for this topic."),
  indexes: list(string().check(jsonPathProblem)).default([]).describe(
    "Payload fields to index on every shard (json_extract(payload, path)), for SQL that filters on them.",
    ["customer_id", "$.address.city"],
  ),
});

export type EngineConfig = Infer<typeof engineSpec>;
export type TopicConfig = Infer<typeof topicSpec>;
