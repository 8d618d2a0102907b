/**
 * What an API source has seen, in `meta.db`: per key, the hash and JSON of the item
 * last emitted (table `api_items`), the watermark (`state` scope `source:<name>`), and
 * the hashes of items already handed to the dead-letter queue (table `api_rejected`),
 * so that an item refused on every poll is queued once.
 * Both change only in `commit`, called after the writer has committed the messages.
 */
import type { StatementSync } from "node:sqlite";
import type { Meta } from "../store/meta.ts";

/** The last emitted version of an item. */
export interface KnownItem {
  hash: number;
  /** The item as JSON. */
  json: string;
}

/** One committed change: the new version of a key, or `null` for a deleted key. */
export type StateChange = [key: string, item: KnownItem | null];

export type Watermark = string | number;

/** The hash of a key written but not yet confirmed (`ApiState.expect`); hashes are never negative. */
const UNCONFIRMED = -1;

/** Keys per lookup statement: one round trip into SQLite per chunk instead of per key. */
const LOOKUP_CHUNK = 250;

export class ApiState {
  readonly #get: StatementSync;
  readonly #lookup: StatementSync;
  readonly #put: StatementSync;
  readonly #expect: StatementSync;
  readonly #remove: StatementSync;
  readonly #all: StatementSync;
  readonly #count: StatementSync;
  readonly #rejected: StatementSync;
  readonly #reject: StatementSync;
  readonly #scope: string;

  constructor(readonly meta: Meta, readonly source: string) {
    meta.db.exec(`
      CREATE TABLE IF NOT EXISTS api_items (
        source TEXT NOT NULL,
        key TEXT NOT NULL,
        hash INTEGER NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (source, key)
      );`);
    this.#get = meta.db.prepare("SELECT hash, json FROM api_items WHERE source = ? AND key = ?");
    this.#lookup = meta.db.prepare(
      `SELECT key, hash FROM api_items WHERE source = ? AND key IN (${
        Array(LOOKUP_CHUNK).fill("?").join(", ")
      })`,
    );
    this.#put = meta.db.prepare(
      "INSERT OR REPLACE INTO api_items (source, key, hash, json) VALUES (?, ?, ?, ?)",
    );
    this.#expect = meta.db.prepare(
      "INSERT OR IGNORE INTO api_items (source, key, hash, json) VALUES (?, ?, ?, '{}')",
    );
    this.#remove = meta.db.prepare("DELETE FROM api_items WHERE source = ? AND key = ?");
    this.#all = meta.db.prepare("SELECT key FROM api_items WHERE source = ?");
    this.#count = meta.db.prepare("SELECT count(*) AS n FROM api_items WHERE source = ?");
    meta.db.exec(`
      CREATE TABLE IF NOT EXISTS api_rejected (
        source TEXT NOT NULL,
        hash INTEGER NOT NULL,
        PRIMARY KEY (source, hash)
      ) WITHOUT ROWID;`);
    this.#rejected = meta.db.prepare("SELECT 1 FROM api_rejected WHERE source = ? AND hash = ?");
    this.#reject = meta.db.prepare(
      "INSERT OR IGNORE INTO api_rejected (source, hash) VALUES (?, ?)",
    );
    this.#scope = `source:${source}`;
  }

  /** The last emitted version of `key`, or undefined when the key is not known. */
  get(key: string): KnownItem | undefined {
    const row = this.#get.get(this.source, key);
    return row ? { hash: Number(row.hash), json: String(row.json) } : undefined;
  }

  /** The hashes of those of `keys` that are known, looked up a chunk at a time. */
  hashes(keys: readonly string[]): Map<string, number> {
    const out = new Map<string, number>();
    for (let at = 0; at < keys.length; at += LOOKUP_CHUNK) {
      const chunk = keys.slice(at, at + LOOKUP_CHUNK);
      // A short chunk is padded with its last key, so one statement serves every chunk.
      while (chunk.length < LOOKUP_CHUNK) chunk.push(chunk[chunk.length - 1]);
      for (const row of this.#lookup.all(this.source, ...chunk)) {
        out.set(String(row.key), Number(row.hash));
      }
    }
    return out;
  }

  /** Every known key (for finding deleted keys). */
  *keys(): Generator<string> {
    for (const row of this.#all.iterate(this.source)) yield String(row.key);
  }

  count(): number {
    return Number(this.#count.get(this.source)?.n ?? 0);
  }

  /** Whether an item with this hash was already handed to the dead-letter queue. */
  wasRejected(hash: number): boolean {
    return this.#rejected.get(this.source, hash) !== undefined;
  }

  /** Records that an item was handed to the dead-letter queue (after it was kept there). */
  rejected(hash: number): void {
    this.#reject.run(this.source, hash);
  }

  /** The watermark recorded by the last committed poll, or undefined before the first. */
  watermark(): Watermark | undefined {
    const text = this.meta.get(this.#scope, "watermark");
    return text === undefined ? undefined : JSON.parse(text);
  }

  /**
   * Records keys about to be written for the first time as known, with a hash no item
   * has (`UNCONFIRMED`), before their write: a crash after the write and before
   * `commit` then leaves them known, so the next poll updates them or, when the API
   * dropped them meanwhile, deletes them, instead of leaving a row no poll can remove.
   */
  expect(keys: Iterable<string>): void {
    this.meta.transaction(() => {
      for (const key of keys) this.#expect.run(this.source, key, UNCONFIRMED);
    });
  }

  /** Records committed changes and the new watermark in one transaction. */
  commit(changes: Iterable<StateChange>, watermark: Watermark | undefined): void {
    this.meta.transaction(() => {
      for (const [key, item] of changes) {
        if (item === null) this.#remove.run(this.source, key);
        else this.#put.run(this.source, key, item.hash, item.json);
      }
      if (watermark !== undefined) {
        this.meta.set(this.#scope, "watermark", JSON.stringify(watermark));
      }
    });
  }
}
