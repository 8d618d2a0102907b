/**
 * Reading rows whatever integers they hold. `node:sqlite` refuses to read an integer
 * beyond ±2^53 as a JavaScript number (a RangeError, ERR_OUT_OF_RANGE), so one payload
 * like `{"id": 9007199254740993}`, or a sum that outgrows 2^53, would fail the
 * statement on every run and stall the join that runs it. Such a statement is run
 * again reading big integers, and each becomes the nearest number, as `JSON.parse`
 * makes it of the same digits.
 */
import type { SQLInputValue, StatementSync } from "node:sqlite";

/** `statement.all(...args)`, with integers beyond ±2^53 read as the nearest number. */
export function allRows<Row extends object = Record<string, unknown>>(
  statement: StatementSync,
  args: SQLInputValue[],
): Row[] {
  try {
    return statement.all(...args) as Row[];
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ERR_OUT_OF_RANGE") throw error;
  }
  statement.setReadBigInts(true);
  try {
    const rows = statement.all(...args) as Record<string, unknown>[];
    for (const row of rows) {
      for (const column in row) {
        if (typeof row[column] === "bigint") row[column] = Number(row[column]);
      }
    }
    return rows as Row[];
  } finally {
    statement.setReadBigInts(false);
  }
}
