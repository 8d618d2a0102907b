/**
 * How the rows a window's SQL returns become results. Each row carries
 * `window_start`, `window_end` (and `session_key`), and its result key is made of
 * them (plus the `row_key` column), so delivering a window again upserts the same
 * rows downstream.
 */
import type { SQLInputValue } from "node:sqlite";
import type { Row } from "../store/readers.ts";
import type { Message, Result } from "../types.ts";
import type { Span } from "./window.ts";

export interface ResultShape {
  /** The window's name: results carry it. */
  name: string;
  /** Named parameters the SQL uses (`window_start`, `window_end`, `session_key`). */
  parameters: readonly string[];
  /** The result column that tells the rows of one window apart. */
  rowKey?: string;
}

/** The SQL parameters for `span`: only those the statement uses (SQLite refuses others). */
export function windowParams(
  parameters: readonly string[],
  span: Span,
): Record<string, SQLInputValue> {
  const params: Record<string, SQLInputValue> = {};
  for (const name of parameters) {
    if (name === "window_start") params[name] = BigInt(span.start);
    else if (name === "window_end") params[name] = BigInt(span.end);
    else if (name === "session_key") params[name] = span.key ?? null;
  }
  return params;
}

/** The result key of a window's row: `[start, end]`, then the session key, then the row key. */
export function resultKey(span: Span, row?: unknown): string {
  const parts: unknown[] = [span.start, span.end];
  if (span.key !== undefined) parts.push(span.key);
  if (row !== undefined) parts.push(row);
  return JSON.stringify(parts);
}

export interface WindowRows {
  results: Result[];
  /** Rows beyond the first with the same key (or beyond one row without `row_key`), told apart by position. */
  duplicates: number;
}

/**
 * The results for one window's rows. `final` is set only in `emit: update` mode, where
 * rows also say whether the window has closed.
 */
export function windowResults(
  shape: ResultShape,
  span: Span,
  rows: readonly Row[],
  now: number,
  final?: boolean,
): WindowRows {
  const results: Result[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  rows.forEach((sqlRow, i) => {
    const own: Record<string, unknown> = { window_start: span.start, window_end: span.end };
    if (span.key !== undefined) own.session_key = span.key;
    const row: Record<string, unknown> = { ...own, ...sqlRow, ...own };
    if (final !== undefined) row.window_final = final;
    let key: string;
    if (shape.rowKey === undefined) {
      // One row per window is expected; more are told apart by position.
      key = rows.length === 1 ? resultKey(span) : resultKey(span, i);
      if (i > 0) duplicates++;
    } else {
      const value = sqlRow[shape.rowKey] ?? null;
      key = resultKey(span, value);
      if (seen.has(key)) {
        duplicates++;
        key = resultKey(span, [value, i]);
      }
    }
    seen.add(key);
    results.push({ name: shape.name, key, row, timestamp: now, _change: { op: "insert" } });
  });
  return { results, duplicates };
}

/** A late event as a result for the late sink: named `<window>_late`, keyed by the message key. */
export function lateResult(window: string, message: Message, time: number, now: number): Result {
  return {
    name: `${window}_late`,
    key: message.key,
    row: {
      topic: message.topic,
      key: message.key,
      timestamp: message.timestamp,
      event_time: time,
      payload: message.payload,
    },
    timestamp: now,
    _change: { op: "insert" },
  };
}
