/**
 * SQLite's authorizer, typed. Deno's `node:sqlite` has `setAuthorizer` at run time but
 * its bundled type definitions predate it; this module is the one place that bridges.
 */
import { constants, type DatabaseSync } from "node:sqlite";

const c = constants as unknown as Record<string, number>;

/** Action codes, as SQLite defines them. */
export const Action = {
  PRAGMA: c.SQLITE_PRAGMA,
  READ: c.SQLITE_READ,
  SELECT: c.SQLITE_SELECT,
  TRANSACTION: c.SQLITE_TRANSACTION,
  ATTACH: c.SQLITE_ATTACH,
  FUNCTION: c.SQLITE_FUNCTION,
  RECURSIVE: c.SQLITE_RECURSIVE,
  INSERT: c.SQLITE_INSERT,
  UPDATE: c.SQLITE_UPDATE,
  DELETE: c.SQLITE_DELETE,
} as const;

const NAMES = new Map(
  Object.entries(c)
    .filter(([k]) =>
      k.startsWith("SQLITE_") && !k.startsWith("SQLITE_CHANGESET") &&
      !["SQLITE_OK", "SQLITE_DENY", "SQLITE_IGNORE"].includes(k)
    )
    .map(([k, v]) => [v, k.slice("SQLITE_".length)]),
);

/** SQLite's name of an action code, e.g. `CREATE_TABLE`. */
export function actionName(action: number): string {
  return NAMES.get(action) ?? `action ${action}`;
}

export const Verdict = { OK: c.SQLITE_OK, DENY: c.SQLITE_DENY, IGNORE: c.SQLITE_IGNORE } as const;

/**
 * Called while a statement is prepared, once per action: `arg1`/`arg2` are e.g. the
 * table and column of a READ, or the pragma name and value of a PRAGMA.
 */
export type Authorizer = (
  action: number,
  arg1: string | null,
  arg2: string | null,
  database: string | null,
  trigger: string | null,
) => number;

export function setAuthorizer(db: DatabaseSync, fn: Authorizer | null): void {
  (db as unknown as { setAuthorizer(fn: Authorizer | null): void }).setAuthorizer(fn);
}
