/** Opening SQLite files the way every LiteJoin database is opened. */
import { DatabaseSync } from "node:sqlite";

export type Synchronous = "full" | "normal";

export interface OpenOptions {
  readOnly?: boolean;
  synchronous?: Synchronous;
  busyTimeoutMs?: number;
}

/**
 * Opens a database in WAL mode with a busy timeout, so that readers, the writer,
 * `litejoin` subcommands and Litestream can share it.
 */
export function openDatabase(path: string, opts: OpenOptions = {}): DatabaseSync {
  const db = new DatabaseSync(path, { readOnly: opts.readOnly ?? false });
  db.exec(`PRAGMA busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  if (!opts.readOnly) {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${(opts.synchronous ?? "full").toUpperCase()}`);
  }
  return db;
}

/** Runs `fn` in a transaction: committed if it returns, rolled back if it throws. */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}
