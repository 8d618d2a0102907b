/** One shard file: the writer connection and its prepared statements. */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { checkpointPassive, openDatabase, type OpenOptions, transaction } from "./sqlite.ts";
import { topicDdl } from "./topics.ts";
import { ensureIndexes, type TopicIndex } from "./indexes.ts";

export function shardPath(dataDir: string, index: number): string {
  return `${dataDir}/shard_${index}.db`;
}

/**
 * One write as the shard stores it: `payload` is JSON text, or null to delete the key.
 * Tuples keep the hop to the writer thread cheap.
 */
export type Row = [
  topic: string,
  key: string,
  payload: string | null,
  timestamp: number,
  change: string | null,
];

interface TopicStatements {
  upsert: StatementSync;
  remove: StatementSync;
}

/**
 * The single writer of one shard. Every row it writes gets the next `_seq` of the
 * shard, so "what changed since seq N" can be answered after a restart.
 */
export class Shard {
  readonly db: DatabaseSync;
  #seq: number;
  readonly #topics = new Map<string, TopicStatements>();
  readonly #saveSeq: StatementSync;
  /** Payload indexes created and dropped when the shard opened. */
  readonly indexChanges: { created: string[]; dropped: string[] } = { created: [], dropped: [] };

  constructor(
    readonly index: number,
    readonly path: string,
    topics: readonly string[],
    opts: OpenOptions & { indexes?: readonly TopicIndex[] } = {},
  ) {
    this.db = openDatabase(path, opts);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS _litejoin_shard (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        seq INTEGER NOT NULL
      );
      INSERT OR IGNORE INTO _litejoin_shard (id, seq) VALUES (0, 0);`);
    for (const topic of topics) {
      this.db.exec(topicDdl(topic));
      this.#topics.set(topic, {
        upsert: this.db.prepare(
          `INSERT OR REPLACE INTO "${topic}" (key, payload, timestamp, _seq, _change)
           VALUES (?, ?, ?, ?, ?)`,
        ),
        remove: this.db.prepare(`DELETE FROM "${topic}" WHERE key = ?`),
      });
    }
    if (opts.indexes) {
      this.indexChanges = ensureIndexes(
        this.db,
        opts.indexes.filter((i) => topics.includes(i.topic)),
      );
    }
    const row = this.db.prepare("SELECT seq FROM _litejoin_shard WHERE id = 0").get();
    this.#seq = Number(row?.seq ?? 0);
    this.#saveSeq = this.db.prepare("UPDATE _litejoin_shard SET seq = ? WHERE id = 0");
  }

  /** The `_seq` of the last committed write. */
  get seq(): number {
    return this.#seq;
  }

  /**
   * Writes the rows in one transaction, in order, so the last row for a key wins.
   * Returns the shard's seq after the commit. If anything fails, nothing is written
   * and the error is thrown.
   */
  apply(rows: readonly Row[]): number {
    let seq = this.#seq;
    transaction(this.db, () => {
      for (const [topic, key, payload, timestamp, change] of rows) {
        const statements = this.#topics.get(topic);
        if (!statements) throw new RangeError(`unknown topic "${topic}"`);
        seq++;
        if (payload === null) statements.remove.run(key);
        else statements.upsert.run(key, payload, timestamp, seq, change);
      }
      this.#saveSeq.run(seq);
    });
    this.#seq = seq;
    return seq;
  }

  /** Deletes up to `limit` rows of `topic` older than `cutoff`; returns how many. */
  expire(topic: string, cutoff: number, limit: number): number {
    const { changes } = this.db.prepare(
      `DELETE FROM "${topic}" WHERE rowid IN
         (SELECT rowid FROM "${topic}" WHERE timestamp < ? LIMIT ?)`,
    ).run(cutoff, limit);
    return Number(changes);
  }

  /** Checkpoints the WAL without blocking readers or the next commit. */
  checkpoint(): void {
    checkpointPassive(this.db);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
