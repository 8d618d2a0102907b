/** The values that flow between components. */

/** What changed about a message, when its source knows (API polling, joins). */
export interface Change {
  op: "insert" | "update" | "delete";
  /** Top-level fields whose values changed (updates). */
  fields?: string[];
  /** The value before the change, when the source keeps it. */
  previous?: Record<string, unknown>;
}

/** One message in a topic. The latest message per key wins. */
export interface Message {
  topic: string;
  key: string;
  payload: Record<string, unknown>;
  /** Unix epoch milliseconds. */
  timestamp: number;
  /** `op: "delete"` removes the key from the topic. */
  _change?: Change;
}

/** One row produced by a join or a window, identified by `key` within `name`. */
export interface Result {
  /** The join or window that produced it. */
  name: string;
  key: string;
  row: Record<string, unknown>;
  /** Unix epoch milliseconds when it was produced. */
  timestamp: number;
  _change?: Change;
}

/** The time source. Injected everywhere so that logic can be tested without sleeping. */
/**
 * Where results go: a sink's runner (resolves once delivered or handed to its failure
 * path). Joins and windows see sinks only through this.
 */
export interface ResultSink {
  deliver(results: readonly Result[]): Promise<void>;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
