/**
 * Reading rows off `node:sqlite` statements (the reader threads, `litejoin query`).
 *
 * Rows are read as arrays and made into objects here. Deno's `node:sqlite` makes each
 * row object (and each `run()` result) in a way that survives into the old generation
 * of V8's heap, which only a full collection frees; a reader thread answering a join's
 * queries piled up megabytes of such garbage for minutes. Arrays leave none.
 *
 * Integers: `node:sqlite` refuses to read one beyond ±2^53 as a JavaScript number (a
 * RangeError, ERR_OUT_OF_RANGE), so one payload like `{"id": 9007199254740993}`, or a
 * sum that outgrows 2^53, would fail the statement on every run and stall the join
 * that runs it. Such a statement is run again reading big integers, and each becomes
 * the nearest number, as `JSON.parse` makes it of the same digits.
 */
import type { SQLInputValue, StatementSync } from "node:sqlite";

/** A statement that can read rows as arrays: Deno's bundled types predate the method. */
export type ArrayStatement = StatementSync & { setReturnArrays(on: boolean): void };

/** Column names per statement, read once: `columns()` makes garbage like rows do. */
const columnNames = new WeakMap<StatementSync, string[]>();

/**
 * `statement.all(...args)` with each row an array of its columns, integers beyond
 * ±2^53 read as the nearest number. Leaves the statement reading arrays.
 */
export function allArrays(statement: StatementSync, args: SQLInputValue[]): unknown[][] {
  (statement as ArrayStatement).setReturnArrays(true);
  try {
    return statement.all(...args) as unknown as unknown[][];
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ERR_OUT_OF_RANGE") throw error;
  }
  statement.setReadBigInts(true);
  try {
    const rows = statement.all(...args) as unknown as unknown[][];
    for (const row of rows) {
      for (let i = 0; i < row.length; i++) {
        if (typeof row[i] === "bigint") row[i] = Number(row[i]);
      }
    }
    return rows;
  } finally {
    statement.setReadBigInts(false);
  }
}

/**
 * `statement.all(...args)`: rows as objects keyed by column name (of two columns with
 * one name, the later wins, as in `node:sqlite`), read through `allArrays`.
 */
export function allRows<Row extends object = Record<string, unknown>>(
  statement: StatementSync,
  args: SQLInputValue[],
): Row[] {
  const arrays = allArrays(statement, args);
  if (arrays.length === 0) return [];
  let names = columnNames.get(statement);
  // A statement SQLite prepared again after a schema change can have other columns.
  if (names?.length !== arrays[0].length) {
    names = statement.columns().map((c) => c.name);
    columnNames.set(statement, names);
  }
  return arrays.map((values) => {
    const row: Record<string, unknown> = Object.create(null);
    for (let i = 0; i < values.length; i++) row[names[i]] = values[i];
    return row as Row;
  });
}
