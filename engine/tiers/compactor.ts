/**
 * Hot to warm: moves a topic's expired rows from the shards into Parquet, one file per
 * time partition, without ever holding a row in two tiers once recovery has run, or
 * in none.
 *
 * For each partition whose whole span has expired:
 *  1. journal the target file in meta.db (`tiering.compact`);
 *  2. read the partition's rows and tombstones from every shard (one snapshot per shard,
 *     read-only, beside the writer), noting each shard's seq in its snapshot;
 *  3. write them, added to whatever that file already holds, as a new file: temporary
 *     name, footer row count checked, fsync, rename, fsync of the directory;
 *  4. delete from the shards exactly the versions read, on the shard writer threads:
 *     those in the partition with `_seq` at or below the snapshot's seq, which is the
 *     same set (`Shard.evictExported`). A key written again meanwhile has a larger
 *     `_seq` and stays hot, whatever its timestamp;
 *  5. clear the journal entry.
 * After a crash, `recover` deletes from the shards every version the journaled file
 * holds, by key, `_seq` and timestamp (a no-op for the ones already gone): step 4
 * again, from the durable file, and still exact if `litejoin reshard` ran in between.
 *
 * Crash points for tests (LITEJOIN_CRASH_AT): `compact.journaled`, `compact.exported`,
 * `compact.written`, `compact.evicting`.
 */
import { shardOf } from "../store/fnv.ts";
import { shardPath, TOMBSTONES, type Versions } from "../store/shard.ts";
import type { Meta } from "../store/meta.ts";
import type { Writer } from "../store/writer.ts";
import type { Logger } from "../log.ts";
import { DatabaseSync } from "node:sqlite";
import { type DuckDBConnection } from "./duck.ts";
import { isTemp, partitionStart, tempPath, type TierFile, tierFile } from "./layout.ts";
import { exists, exportShard, fileVersions, type ShardExported, writeParquet } from "./parquet.ts";
import { crashPoint } from "../crash_point.ts";
import type { Progress } from "../progress.ts";

export const JOURNAL = "tiering.compact";
export const COLD_CATALOG = "tiering.cold";

/** Versions deleted from the shards per writer request, so ingest interleaves. */
const EVICT_CHUNK = 5000;

export interface CompactorOptions {
  dataDir: string;
  shardCount: number;
  warmDir: string;
  /** Partition width, ms. */
  partition: number;
  busyTimeoutMs: number;
  writer: Writer;
  meta: Meta;
  con: DuckDBConnection;
  log: Logger;
}

/** One file written by a compaction. */
export interface Compacted {
  file: TierFile;
  /** Rows (and tombstones) moved out of the hot tier by this compaction. */
  moved: number;
  /** Rows the file holds now. */
  fileRows: number;
}

export class Compactor {
  #stopped = false;

  constructor(readonly opts: CompactorOptions) {}

  /** Stops between partitions and between deletes; the journal finishes the rest at start. */
  stop(): void {
    this.#stopped = true;
  }

  /** Deletes temporary files left by an interrupted write, in every topic directory. */
  async removeTemps(): Promise<number> {
    let removed = 0;
    for await (const dir of readDirIfAny(this.opts.warmDir)) {
      if (!dir.isDirectory) continue;
      for await (const entry of readDirIfAny(`${this.opts.warmDir}/${dir.name}`)) {
        if (entry.isFile && isTemp(entry.name)) {
          await Deno.remove(`${this.opts.warmDir}/${dir.name}/${entry.name}`);
          removed++;
        }
      }
    }
    return removed;
  }

  /**
   * Finishes every journaled compaction: deletes from the shards the versions its file
   * holds. Returns how many versions that removed.
   */
  async recover(): Promise<number> {
    let removed = 0;
    for (const [path, value] of this.opts.meta.entries(JOURNAL)) {
      const { topic } = JSON.parse(value) as { topic: string };
      const local = `${this.opts.warmDir}/${path}`;
      for (const suffix of ["parquet", "ndjson"] as const) {
        await Deno.remove(tempPath(local, suffix)).catch(() => {});
      }
      if (await exists(local)) {
        for await (const batch of fileVersions(this.opts.con, local)) {
          removed += await this.#evictBatch(topic, batch);
        }
      }
      this.opts.meta.delete(JOURNAL, path);
      this.opts.log.info(`recovered the compaction of ${path}: ${removed} hot row(s) removed`);
    }
    return removed;
  }

  /**
   * Moves every row and tombstone of `topic` whose partition ends at or before `cutoff`
   * to the warm tier. Each partition is handled once per call.
   */
  async compact(topic: string, cutoff: number, progress: Progress): Promise<Compacted[]> {
    const width = this.opts.partition;
    const end = partitionStart(cutoff, width);
    const done: Compacted[] = [];
    const total = this.#count(topic, end);
    if (total === 0) return done;
    // Each row is counted twice: once read out of its shard, once deleted from it.
    const task = progress.start(`compact ${topic}`, 2 * total, "rows");
    try {
      let from = Number.MIN_SAFE_INTEGER;
      while (!this.#stopped) {
        const oldest = this.#oldest(topic, from, end);
        if (oldest === undefined) break;
        const start = partitionStart(oldest, width);
        const file = this.#target(topic, start);
        const result = await this.#compactPartition(file, (n) => task.advance(n));
        if (result) done.push(result);
        from = start + width;
      }
    } finally {
      task.done();
    }
    return done;
  }

  /** The file for a partition: the first generation that has not gone cold. */
  #target(topic: string, start: number): TierFile {
    for (let generation = 0;; generation++) {
      const file = tierFile(topic, start, this.opts.partition, generation);
      if (this.opts.meta.get(COLD_CATALOG, file.path) === undefined) return file;
    }
  }

  async #compactPartition(file: TierFile, advance: (n: number) => void) {
    const { meta, warmDir, con } = this.opts;
    const local = `${warmDir}/${file.path}`;
    await Deno.mkdir(`${warmDir}/${file.topic}`, { recursive: true });
    meta.set(JOURNAL, file.path, JSON.stringify({ topic: file.topic }));
    crashPoint("compact.journaled");

    const ndjson = tempPath(local, "ndjson");
    const out = await Deno.open(ndjson, { write: true, create: true, truncate: true });
    const exported: ShardExported[] = [];
    try {
      for (let shard = 0; shard < this.opts.shardCount; shard++) {
        exported.push(
          await exportShard({
            shardPath: shardPath(this.opts.dataDir, shard),
            shard,
            topic: file.topic,
            from: file.start,
            to: file.start + file.width,
            busyTimeoutMs: this.opts.busyTimeoutMs,
            onRows: advance,
          }, out),
        );
      }
    } finally {
      out.close();
    }
    const moved = exported.reduce((n, e) => n + e.rows + e.tombstones, 0);
    if (moved === 0) {
      await Deno.remove(ndjson);
      meta.delete(JOURNAL, file.path);
      return undefined;
    }
    crashPoint("compact.exported");
    const fileRows = await writeParquet(con, ndjson, local, moved);
    await Deno.remove(ndjson);
    crashPoint("compact.written");

    // Each shard has its own writer thread: delete from all of them at once.
    await Promise.all(exported.map(async (e) => {
      const range = { from: file.start, to: file.start + file.width, upTo: e.seq };
      const removed = (await this.#evict(file.topic, e.shard, range, false, advance)) +
        (await this.#evict(file.topic, e.shard, range, true, advance));
      if (removed > e.rows + e.tombstones) {
        this.opts.log.error(
          `${file.path}: shard ${e.shard} removed ${removed} rows, more than the ${
            e.rows + e.tombstones
          } exported`,
        );
      }
    }));
    if (this.#stopped) return { file, moved, fileRows }; // the journal finishes the deletes
    meta.delete(JOURNAL, file.path);
    this.opts.log.debug(`${moved} row(s) of ${file.topic} to ${file.path} (${fileRows} in file)`);
    return { file, moved, fileRows };
  }

  /** Deletes the exported rows (or tombstones) of one shard, a chunk per writer request. */
  async #evict(
    topic: string,
    shard: number,
    range: { from: number; to: number; upTo: number },
    tombstones: boolean,
    advance: (n: number) => void,
  ): Promise<number> {
    let removed = 0;
    while (!this.#stopped) {
      const n = await this.opts.writer.evictExported(shard, topic, range, EVICT_CHUNK, tombstones);
      removed += n;
      advance(n);
      if (n) crashPoint("compact.evicting");
      if (n < EVICT_CHUNK) break;
    }
    return removed;
  }

  /** Routes a batch of versions read from a file to their shards and deletes them there. */
  async #evictBatch(topic: string, batch: Versions & { tombstone: boolean[] }) {
    const count = this.opts.shardCount;
    const groups = new Map<string, Versions>();
    batch.keys.forEach((key, i) => {
      const id = `${shardOf(key, count)}:${batch.tombstone[i]}`;
      let group = groups.get(id);
      if (!group) groups.set(id, group = { keys: [], seqs: [], timestamps: [] });
      group.keys.push(key);
      group.seqs.push(batch.seqs[i]);
      group.timestamps.push(batch.timestamps[i]);
    });
    let removed = 0;
    for (const [id, group] of groups) {
      const [shard, tombstone] = id.split(":");
      removed += await this.opts.writer.evict(Number(shard), topic, group, tombstone === "true");
    }
    return removed;
  }

  /** Rows and tombstones of `topic` older than `end`, across the shards. */
  #count(topic: string, end: number): number {
    return this.#eachShard((db, hasTombstones) => {
      let n = Number(
        db.prepare(`SELECT count(*) AS n FROM "${topic}" WHERE timestamp < ?`).get(end)!.n,
      );
      if (hasTombstones) {
        n += Number(
          db.prepare(`SELECT count(*) AS n FROM ${TOMBSTONES} WHERE topic = ? AND timestamp < ?`)
            .get(topic, end)!.n,
        );
      }
      return n;
    }).reduce((a, b) => a + b, 0);
  }

  /** The oldest timestamp in `[from, end)` of `topic`'s rows and tombstones, across the shards. */
  #oldest(topic: string, from: number, end: number): number | undefined {
    const found = this.#eachShard((db, hasTombstones) => {
      const values = [
        db.prepare(
          `SELECT min(timestamp) AS t FROM "${topic}" WHERE timestamp >= ? AND timestamp < ?`,
        ).get(from, end)!.t,
      ];
      if (hasTombstones) {
        values.push(
          db.prepare(
            `SELECT min(timestamp) AS t FROM ${TOMBSTONES}
             WHERE topic = ? AND timestamp >= ? AND timestamp < ?`,
          ).get(topic, from, end)!.t,
        );
      }
      return values.filter((v) => v !== null).map(Number);
    }).flat();
    return found.length ? Math.min(...found) : undefined;
  }

  #eachShard<T>(fn: (db: DatabaseSync, hasTombstones: boolean) => T): T[] {
    const out: T[] = [];
    for (let shard = 0; shard < this.opts.shardCount; shard++) {
      const db = new DatabaseSync(shardPath(this.opts.dataDir, shard), { readOnly: true });
      try {
        db.exec(`PRAGMA busy_timeout = ${this.opts.busyTimeoutMs}`);
        const hasTombstones = db.prepare(
          "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
        ).get(TOMBSTONES) !== undefined;
        out.push(fn(db, hasTombstones));
      } finally {
        db.close();
      }
    }
    return out;
  }
}

async function* readDirIfAny(path: string): AsyncGenerator<Deno.DirEntry> {
  try {
    for await (const entry of Deno.readDir(path)) yield entry;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
