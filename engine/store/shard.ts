/** One shard file: the writer connection and its prepared statements. */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Message } from "../types.ts";
import { openDatabase, type Synchronous, transaction } from "./sqlite.ts";
import { topicDdl } from "./topics.ts";

export function shardPath(dataDir: string, index: number): string {
  return `${dataDir}/shard_${index}.db`;
}

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

  constructor(
    readonly index: number,
    readonly path: string,
    topics: readonly string[],
    opts: { synchronous?: Synchronous; busyTimeoutMs?: number } = {},
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
    const row = this.db.prepare("SELECT seq FROM _litejoin_shard WHERE id = 0").get();
    this.#seq = Number(row?.seq ?? 0);
    this.#saveSeq = this.db.prepare("UPDATE _litejoin_shard SET seq = ? WHERE id = 0");
  }

  /** The `_seq` of the last committed write. */
  get seq(): number {
    return this.#seq;
  }

  /**
   * Writes the messages in one transaction, in order, so the last message for a key
   * wins. Returns the shard's seq after the commit. If anything fails, nothing is
   * written and the error is thrown.
   */
  apply(messages: readonly Message[]): number {
    let seq = this.#seq;
    transaction(this.db, () => {
      for (const message of messages) {
        const statements = this.#topics.get(message.topic);
        if (!statements) throw new RangeError(`unknown topic "${message.topic}"`);
        seq++;
        if (message._change?.op === "delete") {
          statements.remove.run(message.key);
        } else {
          statements.upsert.run(
            message.key,
            JSON.stringify(message.payload),
            message.timestamp,
            seq,
            message._change ? JSON.stringify(message._change) : null,
          );
        }
      }
      this.#saveSeq.run(seq);
    });
    this.#seq = seq;
    return seq;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
