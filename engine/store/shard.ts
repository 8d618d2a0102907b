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

/**
 * Writes take a run of rows at once, as one JSON array bound to `json_each`: a
 * `node:sqlite` call leaves garbage in the old generation of V8's heap, collected only
 * by a full collection, so one call per row made the writer threads' heaps climb for
 * minutes under load. Element `i` of the array gets `_seq` = `?1 + i + 1`, in order.
 */
interface TopicStatements {
  /** `[[key, payload, timestamp, change], …]`: insert or update each, in order. */
  upsert: StatementSync;
  /** Of a run's distinct keys, how many the topic does not hold yet. */
  countNew: StatementSync;
  /** `[key, …]`: delete each. */
  remove: StatementSync;
  evict: StatementSync;
}

/** Per topic: rows stored now, and messages written since the shard was opened. */
export interface TopicCount {
  rows: number;
  written: number;
}

/**
 * With tiering, a delete leaves a tombstone `(topic, key, timestamp, _seq)` so that older
 * versions of the key in the warm and cold tiers are known to be deleted. Tombstones
 * move down the tiers like rows.
 */
export const TOMBSTONES = "_litejoin_tombstones";
/** Scratch table of `probeSpace`: empty between probes. */
const PROBE = "_litejoin_probe";
/** What a space probe writes: room for a modest batch. */
const PROBE_BYTES = 64 * 1024;

/**
 * Versions of rows, column by column: a version is a key with the `_seq` the shard gave
 * it and its timestamp (the timestamp keeps a version's identity even if `litejoin
 * reshard` renumbers `_seq`).
 */
export interface Versions {
  keys: string[];
  seqs: number[];
  timestamps: number[];
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
  readonly #tombstone: StatementSync | undefined;
  readonly #evictTombstone: StatementSync | undefined;
  readonly #evicted: { topic: string; keys: string[] }[] = [];
  /** Payload indexes created and dropped when the shard opened. */
  readonly indexChanges: { created: string[]; dropped: string[] } = { created: [], dropped: [] };
  /** Kept exact by every write and delete, from one count at open: no scans afterwards. */
  readonly counts = new Map<string, TopicCount>();

  constructor(
    readonly index: number,
    readonly path: string,
    topics: readonly string[],
    opts: OpenOptions & { tombstones?: boolean; indexes?: readonly TopicIndex[] } = {},
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
        // `WHERE true` tells SQLite that ON CONFLICT belongs to the INSERT.
        upsert: this.db.prepare(
          `INSERT INTO "${topic}" (key, payload, timestamp, _seq, _change)
           SELECT value->>0, value->>1, value->>2, ?1 + key + 1, value->>3
           FROM json_each(?2) WHERE true ORDER BY key
           ON CONFLICT (key) DO UPDATE SET payload = excluded.payload,
             timestamp = excluded.timestamp, _seq = excluded._seq, _change = excluded._change`,
        ),
        // Counted before the upsert, so that the row count stays exact without a scan.
        countNew: this.db.prepare(
          `SELECT count(*) AS n FROM (SELECT DISTINCT value AS k FROM json_each(?))
           WHERE NOT EXISTS (SELECT 1 FROM "${topic}" WHERE key = k)`,
        ),
        remove: this.db.prepare(
          `DELETE FROM "${topic}" WHERE key IN (SELECT value FROM json_each(?))`,
        ),
        evict: this.db.prepare(
          `DELETE FROM "${topic}" WHERE key = ? AND _seq = ? AND timestamp = ?`,
        ),
      });
      const { n } = this.db.prepare(`SELECT count(*) AS n FROM "${topic}"`).get() as { n: number };
      this.counts.set(topic, { rows: Number(n), written: 0 });
    }
    if (opts.tombstones) {
      this.db.exec(tombstoneDdl());
      // `[[key, timestamp], …]` of one topic: the last tombstone of a key wins.
      this.#tombstone = this.db.prepare(
        `INSERT OR REPLACE INTO ${TOMBSTONES} (topic, key, timestamp, _seq)
         SELECT ?3, value->>0, value->>1, ?1 + key + 1 FROM json_each(?2) ORDER BY key`,
      );
      this.#evictTombstone = this.db.prepare(
        `DELETE FROM ${TOMBSTONES} WHERE topic = ? AND key = ? AND _seq = ? AND timestamp = ?`,
      );
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
    const changed = new Map<string, TopicCount>();
    transaction(this.db, () => {
      // Each run of consecutive rows of one topic that all write or all delete goes
      // in one statement; runs keep the order of the rows.
      for (let start = 0, end = 0; start < rows.length; start = end) {
        const [topic, , first] = rows[start];
        const deleting = first === null;
        end = start + 1;
        while (
          end < rows.length && rows[end][0] === topic && (rows[end][2] === null) === deleting
        ) {
          end++;
        }
        const statements = this.#topics.get(topic);
        if (!statements) throw new RangeError(`unknown topic "${topic}"`);
        const run = rows.slice(start, end);
        const delta = deleting
          ? -this.#remove(topic, statements, run, seq)
          : this.#upsert(statements, run, seq);
        seq += run.length;
        const tally = changed.get(topic);
        if (tally) {
          tally.rows += delta;
          tally.written += run.length;
        } else changed.set(topic, { rows: delta, written: run.length });
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

  /**
   * Commits a row of `PROBE_BYTES` to a scratch table, then deletes it: succeeds only
   * if the shard has room to grow again (after a full disk). Throws what SQLite said.
   */
  probeSpace(): void {
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${PROBE} (b BLOB)`);
    this.db.exec(`INSERT INTO ${PROBE} VALUES (zeroblob(${PROBE_BYTES}))`);
    this.db.exec(`DELETE FROM ${PROBE}`);
  }

  /**
   * Caps the file at its current size (SQLite's `max_page_count`), or lifts the cap:
   * while capped, commits that need a new page fail with "database or disk is full",
   * as on a full disk. For fault drills and tests.
   */
  capSize(capped: boolean): void {
    const pages = capped ? Number(this.db.prepare("PRAGMA page_count").get()!.page_count) : 0;
    this.db.exec(`PRAGMA max_page_count = ${capped ? pages : 4294967294}`);
  }

  /** Inserts or updates `run` with seqs after `seq`; returns how many keys are new. */
  #upsert(statements: TopicStatements, run: readonly Row[], seq: number): number {
    // A lone surrogate in a key is stored as U+FFFD, as a bound parameter would be;
    // through JSON, SQLite would store it as invalid UTF-8.
    const keys = run.map(([, key]) => key.toWellFormed());
    const json = JSON.stringify(
      run.map(([, , payload, timestamp, change], i) => [keys[i], payload, timestamp, change]),
    );
    const { n } = statements.countNew.get(JSON.stringify(keys)) as { n: number };
    statements.upsert.run(seq, json);
    return n;
  }

  /** Deletes the keys of `run` (tombstones get seqs after `seq`); returns how many were there. */
  #remove(topic: string, statements: TopicStatements, run: readonly Row[], seq: number): number {
    const keys = run.map(([, key]) => key.toWellFormed());
    const removed = Number(statements.remove.run(JSON.stringify(keys)).changes);
    this.#tombstone?.run(
      seq,
      JSON.stringify(run.map(([, , , timestamp], i) => [keys[i], timestamp])),
      topic,
    );
    return removed;
  }

  /** Deletes up to `limit` rows of `topic` older than `cutoff`; returns how many. */
  expire(topic: string, cutoff: number, limit: number): number {
    const statement = this.db.prepare(
      `DELETE FROM "${topic}" WHERE rowid IN
         (SELECT rowid FROM "${topic}" WHERE timestamp < ? LIMIT ?) RETURNING key`,
    );
    return this.#evicting(topic, () => statement.all(cutoff, limit).map((r) => String(r.key)));
  }

  /**
   * Runs an eviction (rows removed by retention or tiering, not by a write) in one
   * transaction that also takes the next seq when it removed anything, so that "what
   * changed since seq N" covers evictions too; `takeEvicted` then returns the keys.
   */
  #evicting(topic: string, evict: () => string[]): number {
    let keys: string[] = [];
    transaction(this.db, () => {
      keys = evict();
      if (keys.length) this.#saveSeq.run(this.#seq + 1);
    });
    if (keys.length) {
      this.#seq++;
      this.#evicted.push({ topic, keys });
    }
    this.#counted(topic, -keys.length);
    return keys.length;
  }

  /** The keys evictions removed since the last call, per topic, in order. */
  takeEvicted(): { topic: string; keys: string[] }[] {
    return this.#evicted.splice(0);
  }

  /** Moves the row count of `topic` by `delta` after a delete outside `apply`. */
  #counted(topic: string, delta: number): void {
    const count = this.counts.get(topic);
    if (count) count.rows += delta;
  }

  /**
   * Deletes exactly the given versions (`key` with its `_seq` and `timestamp`) of
   * `topic`, or of its tombstones, in one transaction; returns how many were still
   * there. A key written again since is another version and stays.
   */
  evict(topic: string, versions: Versions, tombstones = false): number {
    const statements = this.#topics.get(topic);
    if (!statements) throw new RangeError(`unknown topic "${topic}"`);
    if (tombstones && !this.#evictTombstone) return 0;
    const { keys, seqs, timestamps } = versions;
    if (!tombstones) {
      return this.#evicting(
        topic,
        () =>
          keys.filter((key, i) =>
            Number(statements.evict.run(key, seqs[i], timestamps[i]).changes)
          ),
      );
    }
    let removed = 0;
    transaction(this.db, () => {
      for (let i = 0; i < keys.length; i++) {
        removed += Number(
          this.#evictTombstone!.run(topic, keys[i], seqs[i], timestamps[i]).changes,
        );
      }
    });
    return removed;
  }

  /**
   * Adds tombstones carried over from another shard layout (`litejoin reshard`), in
   * order, each with the next seq of this shard, in one transaction.
   */
  carryTombstones(tombstones: readonly { topic: string; key: string; timestamp: number }[]): void {
    this.db.exec(tombstoneDdl());
    const insert = this.db.prepare(
      `INSERT OR REPLACE INTO ${TOMBSTONES} (topic, key, timestamp, _seq) VALUES (?, ?, ?, ?)`,
    );
    let seq = this.#seq;
    transaction(this.db, () => {
      for (const t of tombstones) insert.run(t.topic, t.key, t.timestamp, ++seq);
      this.#saveSeq.run(seq);
    });
    this.#seq = seq;
  }

  /** Checkpoints the WAL without blocking readers or the next commit. */
  checkpoint(): void {
    checkpointPassive(this.db);
  }

  /**
   * Deletes up to `limit` rows (or tombstones) of `topic` with `from <= timestamp < to`
   * written at or before seq `upTo`; returns how many.
   *
   * With `upTo` the shard's seq in the read snapshot that exported `[from, to)`, these
   * are exactly the exported versions still here: seqs only grow, a version is never
   * changed in place, so a row with `_seq <= upTo` existed in that snapshot, and with its
   * timestamp in range it was exported. A key written since (an upsert, a late row)
   * has a larger `_seq` and stays.
   */
  evictExported(
    topic: string,
    from: number,
    to: number,
    upTo: number,
    limit: number,
    tombstones = false,
  ): number {
    if (!this.#topics.has(topic)) throw new RangeError(`unknown topic "${topic}"`);
    if (tombstones && !this.#evictTombstone) return 0;
    if (!tombstones) {
      const statement = this.db.prepare(
        `DELETE FROM "${topic}" WHERE rowid IN (SELECT rowid FROM "${topic}"
           WHERE timestamp >= ? AND timestamp < ? AND _seq <= ? LIMIT ?) RETURNING key`,
      );
      return this.#evicting(
        topic,
        () => statement.all(from, to, upTo, limit).map((r) => String(r.key)),
      );
    }
    const { changes } = this.db.prepare(
      `DELETE FROM ${TOMBSTONES} WHERE rowid IN (SELECT rowid FROM ${TOMBSTONES}
         WHERE topic = ? AND timestamp >= ? AND timestamp < ? AND _seq <= ? LIMIT ?)`,
    ).run(topic, from, to, upTo, limit);
    return Number(changes);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/** The tombstone table of one shard; safe to run again. */
export function tombstoneDdl(schema = "main"): string {
  return `
    CREATE TABLE IF NOT EXISTS "${schema}".${TOMBSTONES} (
      topic TEXT NOT NULL,
      key TEXT NOT NULL,
      timestamp INTEGER NOT NULL,
      _seq INTEGER NOT NULL,
      PRIMARY KEY (topic, key)
    );
    CREATE INDEX IF NOT EXISTS "${schema}".${TOMBSTONES}_timestamp
      ON ${TOMBSTONES}(topic, timestamp);`;
}
