/** The config sections the store reads: `engine` (shards, batching, retention) and `topics`. */
import { type Infer, integer, list, object, oneOf, string } from "../schema/schema.ts";
import { duration } from "../schema/units.ts";
import { dataDirField, socketField } from "../schema/engine_files.ts";
import { MAX_SHARDS } from "./reader_db.ts";
import { jsonPathProblem } from "./indexes.ts";
import { topicName } from "./topics.ts";

export const engineSpec = object({
  data_dir: dataDirField(),
  shard_count: integer({ min: 1, max: MAX_SHARDS }).default(4).describe(
    `Number of shard files, 1–${MAX_SHARDS}. Fixed once data exists: starting with another count ` +
      "is refused (see litejoin reshard).",
  ),
  flush_interval: duration().default(10).describe(
    "Longest a message waits before its batch commits. A shard whose writer is free commits at " +
      "once (group commit), so batches grow with load instead of adding latency.",
  ),
  batch_size: integer({ min: 1, max: 1_000_000 }).default(1000).describe(
    "A waiting batch this large is committed as soon as the shard's writer is free.",
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
  socket: socketField(),
});

export const topicSpec = object({
  name: topicName().describe(
    "Topic name (a lower-case identifier, not an SQL keyword); a table of that name in every shard.",
  ),
  retention: duration().optional().describe(
    "Overrides engine.retention for this topic. A topic an api source writes keeps its rows (0) " +
      "unless set here.",
  ),
  indexes: list(string().check(jsonPathProblem)).default([]).describe(
    "Payload fields to index on every shard (json_extract(payload, path)), for SQL that filters on them.",
    ["customer_id", "$.address.city"],
  ),
});

export type EngineConfig = Infer<typeof engineSpec>;
export type TopicConfig = Infer<typeof topicSpec>;
