/**
 * Deletes rows older than their topic's retention, on a schedule. Deletes run in
 * small chunks on each shard's writer connection with a yield between chunks, so
 * batches keep committing while a large backlog of old rows is removed.
 */
import type { Clock } from "../types.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Shard } from "./shard.ts";

export interface TopicRetention {
  topic: string;
  /** Milliseconds; 0 keeps everything. */
  retention: number;
}

const CHUNK = 2000;

export class Retention {
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<number> | undefined;
  #stopped = false;
  readonly #deleted;

  constructor(
    readonly shards: readonly Shard[],
    readonly topics: readonly TopicRetention[],
    readonly clock: Clock,
    readonly log: Logger,
    metrics: Metrics,
  ) {
    this.#deleted = metrics.counter(
      "litejoin_retention_deleted_rows_total",
      "Rows deleted by retention, by topic.",
    );
  }

  start(intervalMs: number): void {
    if (this.topics.every((t) => t.retention === 0)) return;
    this.#timer = setInterval(() => void this.run(), intervalMs);
  }

  /** Deletes every expired row now; resolves with the number deleted. */
  run(): Promise<number> {
    this.#running ??= this.#sweep().finally(() => this.#running = undefined);
    return this.#running;
  }

  async #sweep(): Promise<number> {
    let total = 0;
    const now = this.clock.now();
    for (const { topic, retention } of this.topics) {
      if (retention === 0) continue;
      const cutoff = now - retention;
      let removed = 0;
      for (const shard of this.shards) {
        const remove = shard.db.prepare(
          `DELETE FROM "${topic}" WHERE rowid IN
             (SELECT rowid FROM "${topic}" WHERE timestamp < ? LIMIT ${CHUNK})`,
        );
        for (;;) {
          if (this.#stopped) return total + removed;
          const { changes } = remove.run(cutoff);
          removed += Number(changes);
          if (Number(changes) < CHUNK) break;
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      }
      if (removed) {
        this.#deleted.inc({ topic }, removed);
        this.log.info(
          `deleted ${removed} row(s) of ${topic} older than ${new Date(cutoff).toISOString()}`,
        );
      }
      total += removed;
    }
    return total;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}
