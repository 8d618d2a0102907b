/** Opening SQLite files the way every LiteJoin database is opened. */
import { DatabaseSync } from "node:sqlite";

export type Synchronous = "full" | "normal";

export interface OpenOptions {
  readOnly?: boolean;
  synchronous?: Synchronous;
  busyTimeoutMs?: number;
  /**
   * WAL pages after which a commit checkpoints (SQLite's default 1000). 0 leaves
   * checkpointing to someone else: Litestream, while it replicates.
   */
  walAutocheckpoint?: number;
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
    if (opts.walAutocheckpoint !== undefined) {
      db.exec(`PRAGMA wal_autocheckpoint = ${opts.walAutocheckpoint}`);
    }
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

/** Checkpoints as much of the WAL as readers allow, without blocking anyone. */
export function checkpointPassive(db: DatabaseSync): void {
  db.exec("PRAGMA wal_checkpoint(PASSIVE)");
}
