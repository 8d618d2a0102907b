/**
 * What each join last delivered: a hash of the row per result key, and how far into
 * each shard's writes the join has got. Both live in `meta.db` and are updated in one
 * transaction after the results are delivered, so a restart neither skips nor repeats
 * a settled change; at worst it delivers the results in flight again.
 */
import type { StatementSync } from "node:sqlite";
import type { Meta } from "../store/meta.ts";

/** A row hash, or `null` when the key no longer has a result. */
export type EmittedUpdate = Map<string, number | null>;

export class EmittedState {
  readonly #select: StatementSync;
  readonly #upsert: StatementSync;
  readonly #remove: StatementSync;
  readonly #all: StatementSync;

  constructor(readonly meta: Meta, readonly join: string) {
    meta.db.exec(`
      CREATE TABLE IF NOT EXISTS join_rows (
        join_name TEXT NOT NULL,
        key TEXT NOT NULL,
        hash INTEGER NOT NULL,
        PRIMARY KEY (join_name, key)
      ) WITHOUT ROWID;`);
    this.#select = meta.db.prepare("SELECT hash FROM join_rows WHERE join_name = ? AND key = ?");
    this.#upsert = meta.db.prepare(
      "INSERT OR REPLACE INTO join_rows (join_name, key, hash) VALUES (?, ?, ?)",
    );
    this.#remove = meta.db.prepare("DELETE FROM join_rows WHERE join_name = ? AND key = ?");
    this.#all = meta.db.prepare("SELECT key, hash FROM join_rows WHERE join_name = ?");
  }

  /** Every emitted key and its row hash. */
  load(): Map<string, number> {
    const out = new Map<string, number>();
    for (const row of this.#all.iterate(this.join)) out.set(String(row.key), Number(row.hash));
    return out;
  }

  /** The row hashes of `keys` that have been emitted. */
  lookup(keys: Iterable<string>): Map<string, number> {
    const out = new Map<string, number>();
    for (const key of keys) {
      const row = this.#select.get(this.join, key);
      if (row) out.set(key, Number(row.hash));
    }
    return out;
  }

  /** Per shard, the seq up to which every write has been evaluated and delivered. */
  progress(shardCount: number): number[] {
    return Array.from(
      { length: shardCount },
      (_, i) => Number(this.meta.get(`join:${this.join}`, `shard_${i}`) ?? 0),
    );
  }

  /** Records delivered results and the progress they cover, atomically. */
  commit(update: EmittedUpdate, progress: readonly number[]): void {
    this.meta.transaction(() => {
      for (const [key, hash] of update) {
        if (hash === null) this.#remove.run(this.join, key);
        else this.#upsert.run(this.join, key, hash);
      }
      progress.forEach((seq, i) => this.meta.set(`join:${this.join}`, `shard_${i}`, String(seq)));
    });
  }
}

/** A 53-bit hash of a string (cyrb53): enough to tell whether a row changed. */
export function hashString(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
