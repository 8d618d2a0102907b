/** One shard file: the writer connection and its prepared statements. */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { checkpointPassive, openDatabase, type OpenOptions, transaction } from "./sqlite.ts";
import { topicDdl } from "./topics.ts";

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
  insert: StatementSync;
  update: StatementSync;
  remove: StatementSync;
}

/** Per topic: rows stored now, and messages written since the shard was opened. */
export interface TopicCount {
  rows: number;
  written: number;
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
  /** Kept exact by every write and delete, from one count at open: no scans afterwards. */
  readonly counts = new Map<string, TopicCount>();

  constructor(
    readonly index: number,
    readonly path: string,
    topics: readonly string[],
    opts: OpenOptions = {},
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
      // Insert, or update the existing row: the two outcomes are told apart so that
      // the row count stays exact without counting.
      this.#topics.set(topic, {
        insert: this.db.prepare(
          `INSERT INTO "${topic}" (key, payload, timestamp, _seq, _change)
           VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
        ),
        update: this.db.prepare(
          `UPDATE "${topic}" SET payload = ?, timestamp = ?, _seq = ?, _change = ? WHERE key = ?`,
        ),
        remove: this.db.prepare(`DELETE FROM "${topic}" WHERE key = ?`),
      });
      const { n } = this.db.prepare(`SELECT count(*) AS n FROM "${topic}"`).get() as { n: number };
      this.counts.set(topic, { rows: Number(n), written: 0 });
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
    const changed = new Map<string, TopicCount>();
    transaction(this.db, () => {
      for (const [topic, key, payload, timestamp, change] of rows) {
        const statements = this.#topics.get(topic);
        if (!statements) throw new RangeError(`unknown topic "${topic}"`);
        seq++;
        let delta = 0;
        if (payload === null) delta = -Number(statements.remove.run(key).changes);
        else if (statements.insert.run(key, payload, timestamp, seq, change).changes) delta = 1;
        else statements.update.run(payload, timestamp, seq, change, key);
        const tally = changed.get(topic);
        if (tally) {
          tally.rows += delta;
          tally.written++;
        } else changed.set(topic, { rows: delta, written: 1 });
      }
      this.#saveSeq.run(seq);
    });
    this.#seq = seq;
    for (const [topic, tally] of changed) {
      const count = this.counts.get(topic)!;
      count.rows += tally.rows;
      count.written += tally.written;
    }
    return seq;
  }

  /** Deletes up to `limit` rows of `topic` older than `cutoff`; returns how many. */
  expire(topic: string, cutoff: number, limit: number): number {
    const { changes } = this.db.prepare(
      `DELETE FROM "${topic}" WHERE rowid IN
         (SELECT rowid FROM "${topic}" WHERE timestamp < ? LIMIT ?)`,
    ).run(cutoff, limit);
    const count = this.counts.get(topic);
    if (count) count.rows -= Number(changes);
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
