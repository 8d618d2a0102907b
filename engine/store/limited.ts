/**
 * At most `maxRows` rows of a user's statement, correctly. Deno's `node:sqlite`
 * `StatementSync.iterate()` ends quietly when a step fails (a runtime error in the SQL),
 * so a partial result would look complete; `all()` raises the error. The limit is put
 * in the SQL (`SELECT * FROM (…) LIMIT n+1`) so that `all()` stays bounded; a statement
 * that cannot be wrapped (an EXPLAIN, a PRAGMA read) runs as it is.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";

export interface Limited {
  statement: StatementSync;
  /** Arguments to run it with (the limit, when it was wrapped, comes last). */
  args: SQLInputValue[];
}

/** Prepares `sql` so that running it returns at most `maxRows + 1` rows. */
export function prepareLimited(
  db: DatabaseSync,
  sql: string,
  maxRows: number,
  params: SQLInputValue[] = [],
): Limited {
  const body = sql.trim().replace(/;\s*$/, "");
  try {
    return {
      statement: db.prepare(`SELECT * FROM (\n${body}\n) LIMIT ?`),
      args: [...params, maxRows + 1],
    };
  } catch {
    return { statement: db.prepare(sql), args: params };
  }
}

/** Splits rows read with a limit of `maxRows + 1` into the rows and whether there were more. */
export function cutRows<T>(rows: T[], maxRows: number): { rows: T[]; truncated: boolean } {
  return rows.length > maxRows
    ? { rows: rows.slice(0, maxRows), truncated: true }
    : { rows, truncated: false };
}
