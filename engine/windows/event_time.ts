/**
 * The time of a message for windowing: its timestamp (when it was ingested), or a
 * payload field holding epoch milliseconds or an ISO-8601 date-time.
 */
import { getPath } from "../paths.ts";
import type { Message } from "../types.ts";

/** `YYYY-MM-DD`, optionally with `THH:MM[:SS[.fff]]` (or a space) and a zone (`Z`, `+02:00`). */
const ISO =
  /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Epoch milliseconds from a payload value, or undefined if it holds no time. Numbers
 * are epoch milliseconds; strings are ISO-8601, read as UTC when they name no zone
 * (as SQLite's date functions read them).
 */
export function parseTime(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? Math.floor(value) : undefined;
  if (typeof value !== "string") return undefined;
  const match = ISO.exec(value.trim());
  if (!match) return undefined;
  const [, date, time, zone] = match;
  const text = time ? `${date}T${time}${zone ?? "Z"}` : `${date}T00:00:00Z`;
  const ms = Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
  return Number.isNaN(ms) ? undefined : ms;
}

/** The event time of `message`: its timestamp, or the field at `path` when one is given. */
export function eventTime(message: Message, path: string | undefined): number | undefined {
  return path === undefined ? message.timestamp : parseTime(getPath(message.payload, path));
}
