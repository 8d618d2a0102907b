/**
 * The checks of the differential test: each join's two result tables against its SQL
 * run over the topics, and each delivered window against its SQL over the final data.
 */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import {
  byKey,
  differences,
  pinNow,
  sameCell,
  showRow,
  sinkTable,
  typedRows,
} from "./_differential.ts";
import {
  type JoinSpec,
  SLIDE_MS,
  TUMBLE_MS,
  variantName,
  type WindowSpec,
} from "./_differential_queries.ts";

/** True for joins whose result does not move with the clock (no clock bound, no expiring topic). */
export const timeless = (join: JoinSpec) =>
  !join.sql.includes("'now'") && !/\bclicks\b/.test(join.sql);

/**
 * Compares both variants of each join with its SQL run over `topics` (the clock pinned
 * at `nowMs`); returns one report per table that differs, and the expected row counts.
 */
export function checkJoins(
  topics: DatabaseSync,
  sinks: DatabaseSync,
  joins: readonly JoinSpec[],
  nowMs: number,
): { failures: string[]; rows: Map<string, number> } {
  const failures: string[] = [];
  const rows = new Map<string, number>();
  for (const join of joins) {
    const expected = byKey(typedRows(topics, pinNow(join.sql, nowMs)), join.key);
    rows.set(join.name, expected.size);
    for (const mode of ["auto", "full"] as const) {
      const table = variantName(join, mode);
      const diff = differences(expected, sinkTable(sinks, table));
      if (diff.length === 0) continue;
      failures.push(
        `${table} (mode: ${mode}): ${diff.length} key(s) differ from the SQL over the topics ` +
          `(which gives ${expected.size} row(s)):\n    ${diff.slice(0, 8).join("\n    ")}`,
      );
    }
  }
  return { failures, rows };
}

/** The parameters of `sql` among a delivered window row's. */
function windowParams(sql: string, row: Map<string, { value: unknown }>) {
  const params: Record<string, SQLInputValue> = {};
  for (const name of ["window_start", "window_end", "session_key"]) {
    if (sql.includes(`:${name}`)) params[name] = row.get(name)!.value as SQLInputValue;
  }
  return params;
}

/**
 * Checks that every delivered window that ended before `openFrom` (event time) holds
 * what its SQL returns over the final data, and that every reading before `openFrom`
 * is in a delivered window; returns the problems, and the windows checked.
 */
export function checkWindows(
  topics: DatabaseSync,
  sinks: DatabaseSync,
  windows: readonly WindowSpec[],
  openFrom: number,
): { failures: string[]; checked: Map<string, number> } {
  const failures: string[] = [];
  const checked = new Map<string, number>();
  const readings = topics.prepare(
    `SELECT key, json_extract(payload, '$.sensor') AS sensor, json_extract(payload, '$.at') AS at
     FROM readings WHERE json_extract(payload, '$.at') < ?`,
  ).all(openFrom).map((r) => ({ key: String(r.key), sensor: String(r.sensor), at: Number(r.at) }));
  for (const window of windows) {
    const delivered = [...sinkTable(sinks, window.name).values()]
      .filter((row) => Number(row.get("window_start")!.value) < openFrom);
    checked.set(window.name, delivered.length);
    const wrong: string[] = [];
    for (const row of delivered) {
      const expected = typedRows(topics, window.sql, windowParams(window.sql, row));
      const same = expected.length === 1 &&
        [...expected[0]].every(([column, cell]) => sameCell(cell, row.get(column)));
      if (!same) wrong.push(`expected ${expected.map(showRow).join(" ")}, got ${showRow(row)}`);
    }
    if (wrong.length) {
      failures.push(
        `${window.name}: ${wrong.length} of ${delivered.length} delivered window(s) differ from ` +
          `the SQL over the final data:\n    ${wrong.slice(0, 8).join("\n    ")}`,
      );
    }
    const missing = readings.filter((r) => !delivered.some((row) => covers(window, row, r)));
    if (missing.length) {
      failures.push(
        `${window.name}: ${missing.length} reading(s) are in no delivered window, e.g. ` +
          missing.slice(0, 5).map((r) => `${r.key} (${r.sensor} at ${r.at})`).join(", "),
      );
    }
  }
  return { failures, checked };
}

/** Whether a delivered window row is the window of reading `r`. */
function covers(
  window: WindowSpec,
  row: Map<string, { value: unknown }>,
  r: { sensor: string; at: number },
): boolean {
  const start = Number(row.get("window_start")!.value);
  const end = Number(row.get("window_end")!.value);
  if (window.type === "tumbling") return start === Math.floor(r.at / TUMBLE_MS) * TUMBLE_MS;
  if (window.type === "sliding") return start === Math.floor(r.at / SLIDE_MS) * SLIDE_MS;
  return row.get("session_key")!.value === r.sensor && start <= r.at && r.at < end;
}
