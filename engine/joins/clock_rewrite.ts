/**
 * Each evaluation of a join reads the clock once: every read of it in the join's SQL (a
 * `'now'` time value, a date/time function called without one, CURRENT_TIMESTAMP, DATE
 * or TIME) is rewritten to the parameter `NOW_PARAM`, so that a statement is
 * deterministic given the "now" an evaluation binds (see `clock_bound.ts`).
 */
import { depths, isOp, type Token, tokenize } from "./sql_tokens.ts";

/** The parameter that stands for "now" in a rewritten statement. */
export const NOW_PARAM = ":__lj_now";

/** The date/time functions, and which of their arguments are time values. */
const TIME_ARGS: Record<string, number[]> = {
  date: [0],
  time: [0],
  datetime: [0],
  julianday: [0],
  unixepoch: [0],
  strftime: [1],
  timediff: [0, 1],
};

const CURRENT: Record<string, string> = {
  current_timestamp: "datetime",
  current_date: "date",
  current_time: "time",
};

export interface ClockRewrite {
  sql: string;
  /** True when the statement read the clock (and now reads `NOW_PARAM` instead). */
  reads: boolean;
}

/** SQLite's time value for `ms` since the epoch: `YYYY-MM-DD HH:MM:SS.SSS`, UTC, as 'now' gives. */
export function timeValue(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

/** Rewrites the clock reads of `sql` to `NOW_PARAM`; the rest of the text is kept as written. */
export function bindClock(sql: string): ClockRewrite {
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch {
    return { sql, reads: false };
  }
  const depth = depths(tokens);
  const edits: { start: number; end: number; text: string }[] = [];
  tokens.forEach((t, i) => {
    if (t.kind !== "word" || isOp(tokens[i - 1], ".")) return;
    if (CURRENT[t.value] && !isOp(tokens[i + 1], "(")) {
      edits.push({ start: t.start, end: t.end, text: `${CURRENT[t.value]}(${NOW_PARAM})` });
      return;
    }
    const timeArgs = TIME_ARGS[t.value];
    if (!timeArgs || !isOp(tokens[i + 1], "(")) return;
    const open = i + 1;
    const args: [number, number][] = [];
    let from = open + 1;
    let close = open + 1;
    for (; close < tokens.length; close++) {
      const d = depth[close];
      if (d === depth[open] && isOp(tokens[close], ")")) break;
      if (d === depth[open] + 1 && isOp(tokens[close], ",")) {
        args.push([from, close]);
        from = close + 1;
      }
    }
    if (close >= tokens.length) return;
    if (close > from || args.length) args.push([from, close]);
    for (const at of timeArgs) {
      const arg = args[at];
      if (!arg) {
        // A time value left out means 'now': only the last one can be (timediff needs both).
        if (t.value === "timediff" || at !== args.length) continue;
        const text = args.length ? `, ${NOW_PARAM}` : NOW_PARAM;
        edits.push({ start: tokens[close].start, end: tokens[close].start, text });
        continue;
      }
      const [a, b] = arg;
      if (b - a === 1 && tokens[a].kind === "string" && tokens[a].value.toLowerCase() === "now") {
        edits.push({ start: tokens[a].start, end: tokens[a].end, text: NOW_PARAM });
      }
    }
  });
  if (!edits.length) return { sql, reads: false };
  edits.sort((a, b) => a.start - b.start);
  let out = "";
  let at = 0;
  for (const edit of edits) {
    out += sql.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return { sql: out + sql.slice(at), reads: true };
}
