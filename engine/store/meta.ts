/**
 * `meta.db`: the layout of the data directory (shard count, format version) and the
 * small durable state of components (join progress, window progress, API watermarks).
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { openDatabase, type OpenOptions, transaction } from "./sqlite.ts";

export const FORMAT_VERSION = 1;

/** The data directory does not match the configuration; starting would corrupt it. */
export class LayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LayoutError";
  }
}

/**
 * A key-value store for component state, grouped by scope (e.g. `join:enriched`).
 * Every `set` is durable when it returns.
 */
export class Meta {
  readonly db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #set: StatementSync;
  readonly #delete: StatementSync;
  readonly #entries: StatementSync;

  constructor(path: string, opts: OpenOptions = {}) {
    // Join state (a row per result) takes random updates all over large tables: read
    // pages through the OS cache without a copy, and (unless Litestream checkpoints)
    // checkpoint every 64 MiB of WAL rather than every 4 MiB, so that a page updated by
    // several batches is written back once.
    this.db = openDatabase(path, { ...opts, walAutocheckpoint: opts.walAutocheckpoint ?? 16384 });
    this.db.exec("PRAGMA mmap_size = 1073741824");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS state (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (scope, key)
      ) WITHOUT ROWID;`);
    this.#get = this.db.prepare("SELECT value FROM state WHERE scope = ? AND key = ?");
    this.#set = this.db.prepare(
      "INSERT OR REPLACE INTO state (scope, key, value) VALUES (?, ?, ?)",
    );
    this.#delete = this.db.prepare("DELETE FROM state WHERE scope = ? AND key = ?");
    this.#entries = this.db.prepare("SELECT key, value FROM state WHERE scope = ? ORDER BY key");
  }

  /**
   * Records the layout on first start, and refuses a data directory written with
   * another shard count or format.
   */
  checkLayout(shardCount: number, dataDir: string): void {
    const recorded = this.get("layout", "shard_count");
    const version = this.get("layout", "format_version");
    if (recorded === undefined) {
      transaction(this.db, () => {
        this.set("layout", "shard_count", String(shardCount));
        this.set("layout", "format_version", String(FORMAT_VERSION));
      });
      return;
    }
    if (Number(version) !== FORMAT_VERSION) {
      throw new LayoutError(
        `${dataDir} was written in format ${version}, this build reads format ${FORMAT_VERSION}; ` +
          "use the litejoin version that wrote it",
      );
    }
    if (Number(recorded) !== shardCount) {
      throw new LayoutError(
        `${dataDir} holds ${recorded} shards but engine.shard_count is ${shardCount}; ` +
          `set shard_count: ${recorded}, or rewrite the data with litejoin reshard --to ${shardCount}`,
      );
    }
  }

  get(scope: string, key: string): string | undefined {
    const row = this.#get.get(scope, key);
    return row ? String(row.value) : undefined;
  }

  set(scope: string, key: string, value: string): void {
    this.#set.run(scope, key, value);
  }

  delete(scope: string, key: string): void {
    this.#delete.run(scope, key);
  }

  /** Every key and value in a scope, ordered by key. */
  entries(scope: string): [string, string][] {
    return this.#entries.all(scope).map((row) => [String(row.key), String(row.value)]);
  }

  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T {
    return transaction(this.db, fn);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
