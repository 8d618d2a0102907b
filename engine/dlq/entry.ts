/** The rows of `dlq.db` as the rest of LiteJoin sees them, and how they are read. */
import type { SQLInputValue } from "node:sqlite";
import type { Result } from "../types.ts";

/**
 * `retrying`: waiting for its next attempt. `dead`: attempts exhausted or permanently
 * refused; only a replay sends it again. `delivered`: sent (pruned later).
 * `rejected`: an input a source could not store; it is shown, never sent.
 */
export type EntryStatus = "retrying" | "dead" | "delivered" | "rejected";
export const STATUSES: readonly EntryStatus[] = ["retrying", "dead", "delivered", "rejected"];

/** One row of the dead-letter queue, as `litejoin dlq` and the control socket show it. */
export interface Entry {
  id: number;
  /** The sink that failed; null for a rejected input. */
  sink: string | null;
  /** The join or window that produced the result, or the source that rejected the input. */
  source: string;
  /** The result key (or the input's key when the source knew it). */
  key: string | null;
  /** The whole result `{name, key, row, timestamp, _change}`, or `{raw, ...detail}` for an input. */
  payload: unknown;
  /** The last error (or why the input was rejected). */
  error: string;
  /** Failed attempts so far; the inline attempts before the entry was written count as one. */
  attempts: number;
  /** Epoch milliseconds. */
  first_failed_at: number;
  last_failed_at: number;
  /** When the retry worker sends it next; null unless `retrying`. */
  next_attempt_at: number | null;
  status: EntryStatus;
  delivered_at: number | null;
  /** Delivered means "not sent, because a newer result for the same key was delivered". */
  superseded: boolean;
}

/** An entry held under a lease, ready to send. */
export interface Claimed {
  id: number;
  sink: string;
  source: string;
  key: string;
  result: Result;
  attempts: number;
  status: "retrying" | "dead";
}

/** What a source hands over for an input it could not store. */
export interface RejectedInput {
  /** The source's name. */
  source: string;
  /** Why, in one line: `not JSON: Unexpected token } at position 12`, `no key at customer.id`. */
  reason: string;
  /** The input as received. Bytes that are not UTF-8 are kept as base64. */
  raw: string | Uint8Array;
  /** The input's key, when the source knows one (a Kafka message key). */
  key?: string;
  /** Where it came from, e.g. `{topic, partition, offset}` or `{url, index}`. */
  detail?: Record<string, unknown>;
}

export interface EntryFilter {
  id?: number;
  sink?: string;
  status?: EntryStatus;
  source?: string;
}

export interface SinkStats {
  retrying: number;
  dead: number;
  delivered: number;
  /** The first failure of the oldest entry not yet delivered (epoch ms), or null. */
  oldest_failed_at: number | null;
}

export interface Stats {
  /** Entries that need attention: retrying, dead and rejected (delivered ones excluded). */
  total: number;
  by_sink: Record<string, SinkStats>;
  rejected: Record<string, number>;
}

/** How a failed attempt changes an entry: its new status and next attempt time. */
export type Reschedule = (entry: { attempts: number; status: "retrying" | "dead" }) => {
  status: "retrying" | "dead";
  next_attempt_at: number | null;
};

export type Row = Record<string, SQLInputValue>;

export function toEntry(row: Row): Entry {
  return {
    id: Number(row.id),
    sink: row.sink === null ? null : String(row.sink),
    source: String(row.source),
    key: row.key === null ? null : String(row.key),
    payload: JSON.parse(String(row.payload)),
    error: String(row.error),
    attempts: Number(row.attempts),
    first_failed_at: Number(row.first_failed_at),
    last_failed_at: Number(row.last_failed_at),
    next_attempt_at: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
    status: String(row.status) as EntryStatus,
    delivered_at: row.delivered_at === null ? null : Number(row.delivered_at),
    superseded: Number(row.superseded) === 1,
  };
}

export function toClaimed(row: Row): Claimed {
  return {
    id: Number(row.id),
    sink: String(row.sink),
    source: String(row.source),
    key: String(row.key),
    result: JSON.parse(String(row.payload)) as Result,
    attempts: Number(row.attempts),
    status: String(row.status) as "retrying" | "dead",
  };
}

export function where(filter: EntryFilter): { sql: string; params: SQLInputValue[] } {
  const clauses: string[] = [];
  const params: SQLInputValue[] = [];
  if (filter.id !== undefined) clauses.push("id = ?"), params.push(filter.id);
  if (filter.sink !== undefined) clauses.push("sink = ?"), params.push(filter.sink);
  if (filter.status !== undefined) clauses.push("status = ?"), params.push(filter.status);
  if (filter.source !== undefined) clauses.push("source = ?"), params.push(filter.source);
  return { sql: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

export function rawText(raw: string | Uint8Array): { raw: string; encoding?: "base64" } {
  if (typeof raw === "string") return { raw };
  try {
    return { raw: UTF8.decode(raw) };
  } catch {
    let binary = "";
    for (let i = 0; i < raw.length; i += 0x8000) {
      binary += String.fromCharCode(...raw.subarray(i, i + 0x8000));
    }
    return { raw: btoa(binary), encoding: "base64" };
  }
}
