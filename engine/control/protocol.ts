/**
 * The shapes that travel over the control socket, shared by the engine (which serves
 * them) and the console and `litejoin status` (which read them). Field names are
 * snake_case on the wire; times are Unix epoch milliseconds.
 */
import type { Entry, Stats as DlqStats } from "../dlq/entry.ts";

/** Green, amber, red. */
export type Health = "ok" | "warn" | "fail";

/** `info`: who the engine is and what it runs. */
export interface EngineInfo {
  version: string;
  pid: number;
  started_at: number;
  uptime_seconds: number;
  config_file: string;
  data_dir: string;
  http: string;
  shard_count: number;
  topics: string[];
  sources: { name: string; type: string }[];
  joins: { name: string; mode: string; topics: string[]; sinks: string[] }[];
  sinks: { name: string; type: string }[];
  /** Present once the engine runs windows. */
  windows?: { name: string; type: string }[];
}

export interface ShardStats {
  shard: number;
  /** Messages committed per second over the last interval. */
  writes_per_s: number;
  /** `writes_per_s` of up to the last 60 intervals, oldest first (for sparklines). */
  history: number[];
  commits_per_s: number;
  /** The last batch commit, and the 99th percentile over the last minute (bucket bound). */
  commit_ms_last: number;
  commit_ms_p99: number;
  db_bytes: number;
  wal_bytes: number;
}

export interface TopicStats {
  topic: string;
  /** Rows stored now: exact, kept by the shards as they write. */
  rows: number;
  /** Bytes on disk (table and indexes), measured now and then and scaled by rows since; null until first measured. */
  bytes: number | null;
  /** Messages written per second over the last interval. */
  rate_per_s: number;
  /** Messages written since the engine started. */
  written: number;
}

/** One evaluating component: a join or a window. */
export interface EvaluatorStats {
  name: string;
  evaluations: number;
  errors: number;
  last_ms: number;
  /** 99th percentile over the last minute (bucket upper bound); 0 without evaluations. */
  p99_ms: number;
  status: Health;
  /** Why the status is what it is; "ok" when healthy. */
  reason: string;
}

export interface JoinStats extends EvaluatorStats {
  mode: string;
  pending_keys: number;
  /** How long the oldest commit not yet delivered has waited (0 when caught up). */
  lag_ms: number;
}

/**
 * A window: `evaluations` are windows closed and delivered, latencies are from a
 * window's close (end + grace) to the delivery of its results.
 */
export interface WindowStats extends EvaluatorStats {
  type: string;
  /** Windows (sessions) open now. */
  open: number;
  /** The close frontier (epoch ms), null before the first close. */
  closed_through: number | null;
  /** Events that arrived after their window closed. */
  late: number;
}

export interface SinkStats {
  name: string;
  type: string;
  delivered: number;
  failed: number;
  retries: number;
  /** Results queued for delivery now. */
  backlog: number;
  last_ms: number;
  p99_ms: number;
  /** Entries waiting in the DLQ (retrying + dead); null when the DLQ is not enabled. */
  dlq_depth: number | null;
  /** When the oldest waiting DLQ entry first failed; null when none (or no DLQ). */
  dlq_oldest: number | null;
  status: Health;
  reason: string;
}

/** `dlq.stats`, as the DLQ serves it (declared once, by the DLQ: `dlq/entry.ts`). */
export type DlqSummary = DlqStats;

/**
 * One DLQ entry, as `dlq.list` gives it: the DLQ's `Entry` (declared once, in
 * `dlq/entry.ts`), read tolerantly: a console may attach to an engine of another version,
 * so it takes a status it does not know and does without the fields added later.
 */
export type DlqEntry =
  & Omit<Entry, "status" | "delivered_at" | "superseded">
  & { /** An `EntryStatus` of `dlq/entry.ts`, or one a newer engine adds. */ status: string }
  & Partial<Pick<Entry, "delivered_at" | "superseded">>;

/** `stats` and the pushed `stats` event. */
export interface Stats {
  at: number;
  uptime_seconds: number;
  interval_ms: number;
  /** Messages accepted but not yet committed. */
  backlog: number;
  shards: ShardStats[];
  topics: TopicStats[];
  joins: JoinStats[];
  windows: WindowStats[];
  sinks: SinkStats[];
  /** `dlq.stats` when the engine has a DLQ (enabled), else null. */
  dlq: DlqSummary | null;
  /** The worst status of any join, window or sink. */
  status: Health;
}

/** `sql`: a read-only query's result. Rows are arrays in column order. */
export interface SqlResult {
  columns: string[];
  rows: unknown[][];
  /** More rows existed than `row_limit` (or than fit in the size limit). */
  truncated: boolean;
  ms: number;
  row_limit: number;
  time_limit_ms: number;
}

export interface TailMessage {
  key: string;
  timestamp: number;
  /** The payload as stored (JSON text), cut after 16 KiB with a note of its length. */
  payload: string;
  change: string | null;
  shard: number;
}

/** `tail`: a topic's newest messages, newest first. */
export interface TailResult {
  topic: string;
  rows: number;
  messages: TailMessage[];
}
