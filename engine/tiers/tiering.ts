/**
 * Tiering replaces retention's deletes when `tiering.enabled`: every
 * `engine.retention_interval` it compacts each topic's expired partitions into warm
 * Parquet files, then uploads the warm files past `warm_retention` to the cold tier.
 * One run at a time; a failure is logged and the next run tries again.
 */
import type { TierSettings } from "./spec.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Meta } from "../store/meta.ts";
import type { Writer } from "../store/writer.ts";
import type { Clock } from "../types.ts";
import { type Duck, openDuck } from "./duck.ts";
import { type Compacted, Compactor } from "./compactor.ts";
import { type Uploaded, Uploader } from "./uploader.ts";
import { type ColdStore, openS3 } from "./cold.ts";
import { noProgress, type Progress } from "../progress.ts";

export interface TieringOptions {
  config: TierSettings;
  writer: Writer;
  meta: Meta;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  progress?: Progress;
  /** How long a topic's rows stay hot, ms (0: forever). */
  retentionOf: (topic: string) => number;
  /** The cold tier; default: an S3 client from `tiering.cold`. */
  store?: ColdStore;
}

/** What one run moved. */
export interface TieringRun {
  compacted: Compacted[];
  uploaded: Uploaded[];
}

export class Tiering {
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<TieringRun> | undefined;
  #stopped = false;
  readonly compactor: Compactor;
  readonly uploader: Uploader | undefined;
  readonly #metrics;

  private constructor(
    readonly opts: TieringOptions,
    readonly duck: Duck,
    readonly store: ColdStore | undefined,
  ) {
    const { config, writer, meta, log } = opts;
    const e = config.engine;
    this.compactor = new Compactor({
      dataDir: e.data_dir,
      shardCount: e.shard_count,
      warmDir: config.tierPaths.warmDir,
      partition: config.tiering.partition,
      busyTimeoutMs: e.busy_timeout,
      writer,
      meta,
      con: duck.con,
      log,
    });
    this.uploader = store && new Uploader({
      warmDir: config.tierPaths.warmDir,
      store,
      meta,
      con: duck.con,
      clock: opts.clock,
      log,
      retentionOf: opts.retentionOf,
      warmRetention: config.tiering.warm_retention,
    });
    const m = opts.metrics;
    this.#metrics = {
      compacted: m.counter("litejoin_tiering_compacted_rows_total", "Rows moved hot to warm."),
      files: m.counter("litejoin_tiering_warm_files_written_total", "Warm files written."),
      uploaded: m.counter("litejoin_tiering_uploaded_files_total", "Files moved warm to cold."),
      bytes: m.counter("litejoin_tiering_uploaded_bytes_total", "Bytes moved warm to cold."),
      failures: m.counter("litejoin_tiering_failures_total", "Failed tiering steps, by stage."),
    };
  }

  /**
   * Opens DuckDB and the cold store, and removes temporary files of interrupted writes.
   * Call `recover` before any source writes.
   */
  static async open(opts: TieringOptions): Promise<Tiering> {
    await Deno.mkdir(opts.config.tierPaths.warmDir, { recursive: true });
    const duck = await openDuck({ tempDir: `${opts.config.tierPaths.warmDir}/.duckdb_tmp` });
    try {
      const cold = opts.config.tiering.cold;
      const store = opts.store ?? (cold ? await openS3(cold) : undefined);
      return new Tiering(opts, duck, store);
    } catch (error) {
      duck.close();
      throw error;
    }
  }

  /** Finishes what a crash interrupted: temporary files, journaled compactions. */
  async recover(): Promise<void> {
    await this.compactor.removeTemps();
    await this.compactor.recover();
  }

  /** Runs now, then every `intervalMs`. */
  start(intervalMs: number): void {
    void this.run();
    this.#timer = setInterval(() => void this.run(), intervalMs);
  }

  /** Compacts and uploads everything due now; joins a run in progress. */
  run(): Promise<TieringRun> {
    this.#running ??= this.#run().finally(() => this.#running = undefined);
    return this.#running;
  }

  async #run(): Promise<TieringRun> {
    const { config, clock, log } = this.opts;
    const progress = this.opts.progress ?? noProgress;
    const result: TieringRun = { compacted: [], uploaded: [] };
    try {
      await this.compactor.recover();
    } catch (error) {
      this.#fail("recover", `cannot finish an earlier compaction: ${(error as Error).message}`);
      return result;
    }
    const now = clock.now();
    for (const topic of config.topicNames) {
      const retention = this.opts.retentionOf(topic);
      if (retention === 0 || this.#stopped) continue;
      try {
        const files = await this.compactor.compact(topic, now - retention, progress);
        const moved = files.reduce((n, f) => n + f.moved, 0);
        if (moved) {
          this.#metrics.compacted.inc({ topic }, moved);
          this.#metrics.files.inc({ topic }, files.length);
          log.info(`moved ${moved} row(s) of ${topic} to ${files.length} warm file(s)`);
        }
        result.compacted.push(...files);
      } catch (error) {
        this.#fail("compact", `cannot compact ${topic}: ${(error as Error).message}`);
      }
    }
    if (this.uploader && !this.#stopped) {
      try {
        const uploaded = await this.uploader.run(progress);
        for (const u of uploaded) {
          this.#metrics.uploaded.inc({ topic: u.file.topic });
          this.#metrics.bytes.inc({ topic: u.file.topic }, u.bytes);
        }
        if (uploaded.length) {
          log.info(`moved ${uploaded.length} file(s) to ${this.uploader.opts.store.url}`);
        }
        result.uploaded = uploaded;
      } catch (error) {
        this.#fail("upload", `cannot upload: ${(error as Error).message}`);
      }
    }
    return result;
  }

  #fail(stage: string, message: string): void {
    this.#metrics.failures.inc({ stage });
    this.opts.log.error(message);
  }

  /** Stops between steps; what is left is finished by the next start's recovery. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.compactor.stop();
    this.uploader?.stop();
    await this.#running;
    this.store?.close();
    this.duck.close();
  }
}
