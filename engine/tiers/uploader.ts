/**
 * Warm to cold: uploads each warm file whose partition left the hot tier more than
 * `warm_retention` ago, and deletes the local copy only once the store holds an object
 * of the same size and sha256, recorded in meta.db's cold catalog (`tiering.cold`).
 *
 * A crash at any point leaves the local file in place until a later run finds the
 * identical object (then only the catalog entry and the delete remain to do) or
 * uploads it again. The catalog is written before the local copy goes, so a partition
 * that has gone cold is never written locally under the same name again (the compactor
 * picks the next generation): an object is only ever replaced by a superset of itself.
 *
 * Crash points for tests (LITEJOIN_CRASH_AT): `upload.part` (as a part of a multipart
 * upload completes), `upload.put`, `upload.cataloged`.
 */
import { dirname } from "node:path";
import type { Meta } from "../store/meta.ts";
import type { Logger } from "../log.ts";
import type { Clock } from "../types.ts";
import { type DuckDBConnection, fsync, numbers, sqlString } from "./duck.ts";
import { parseTierPath, type TierFile } from "./layout.ts";
import { ColdError, type ColdStore, describeFile, mismatch } from "./cold.ts";
import { COLD_CATALOG } from "./compactor.ts";
import { crashPoint } from "../crash_point.ts";
import type { Progress } from "../progress.ts";

export interface UploaderOptions {
  warmDir: string;
  store: ColdStore;
  meta: Meta;
  con: DuckDBConnection;
  clock: Clock;
  log: Logger;
  /** The retention of a topic, ms (how long its rows stay hot). */
  retentionOf: (topic: string) => number;
  warmRetention: number;
}

export interface Uploaded {
  file: TierFile;
  bytes: number;
  rows: number;
  /** False when an identical object was already there (a retry after a crash). */
  sent: boolean;
}

export class Uploader {
  #stopped = false;

  constructor(readonly opts: UploaderOptions) {}

  stop(): void {
    this.#stopped = true;
  }

  /** The warm files due for the cold tier now, oldest first. */
  async due(): Promise<TierFile[]> {
    const now = this.opts.clock.now();
    const files: TierFile[] = [];
    for await (const dir of Deno.readDir(this.opts.warmDir)) {
      if (!dir.isDirectory) continue;
      for await (const entry of Deno.readDir(`${this.opts.warmDir}/${dir.name}`)) {
        const file = entry.isFile ? parseTierPath(`${dir.name}/${entry.name}`) : undefined;
        if (!file) continue;
        const leftHot = file.start + file.width + this.opts.retentionOf(file.topic);
        if (leftHot + this.opts.warmRetention <= now) files.push(file);
      }
    }
    return files.sort((a, b) => a.start - b.start || a.path.localeCompare(b.path));
  }

  /**
   * Uploads every due file; one that fails is logged and retried on the next run. A
   * failure of the store itself (unreachable, refused) ends this run.
   */
  async run(progress: Progress): Promise<Uploaded[]> {
    const files = await this.due();
    if (files.length === 0) return [];
    const sizes = await Promise.all(
      files.map((f) => Deno.stat(`${this.opts.warmDir}/${f.path}`).then((s) => s.size)),
    );
    const task = progress.start(`upload to ${this.opts.store.url}`, sum(sizes), "bytes");
    const done: Uploaded[] = [];
    try {
      for (const file of files) {
        if (this.#stopped) break;
        try {
          done.push(await this.upload(file, (bytes) => task.advance(bytes)));
        } catch (error) {
          this.opts.log.error(`${file.path} stays warm: ${(error as Error).message}`);
          if (error instanceof ColdError) break; // the store itself failed: try next run
        }
      }
    } finally {
      task.done();
    }
    return done;
  }

  /** Moves one warm file to the cold tier. */
  async upload(file: TierFile, onBytes: (bytes: number) => void = () => {}): Promise<Uploaded> {
    const { store, meta, con } = this.opts;
    const local = `${this.opts.warmDir}/${file.path}`;
    const [rows] = await numbers(
      con,
      `SELECT num_rows FROM parquet_file_metadata(${sqlString(local)})`,
    );
    const info = await describeFile(local, rows);
    let sent = false;
    if (mismatch(info, await store.head(file.path)) !== undefined) {
      await store.put(file.path, local, info, (bytes, multipart) => {
        onBytes(bytes);
        if (multipart) crashPoint("upload.part");
      });
      sent = true;
      crashPoint("upload.put");
    } else {
      onBytes(info.size);
    }
    const problem = mismatch(info, await store.head(file.path));
    if (problem) {
      throw new Error(`the uploaded object is not ${file.path}: ${problem}; it stays warm`);
    }
    meta.set(
      COLD_CATALOG,
      file.path,
      JSON.stringify({ size: info.size, sha256: info.sha256, rows }),
    );
    crashPoint("upload.cataloged");
    await Deno.remove(local);
    await fsync(dirname(local));
    this.opts.log.debug(`${file.path} (${rows} rows, ${info.size} bytes) is cold`);
    return { file, bytes: info.size, rows, sent };
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
