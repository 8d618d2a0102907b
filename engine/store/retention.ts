/**
 * Deletes rows older than their topic's retention, on a schedule. Deletes run in
 * small chunks on each shard's writer thread, between its batches, so ingest keeps
 * committing while a large backlog of old rows is removed.
 */
import type { Clock } from "../types.ts";
import type { EngineConfig, TopicConfig } from "./spec.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Writer } from "./writer.ts";

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
    readonly writer: Writer,
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
      for (let shard = 0; shard < this.writer.options.shardCount; shard++) {
        for (;;) {
          if (this.#stopped) return total + removed;
          const changes = await this.writer.expire(shard, topic, cutoff, CHUNK);
          removed += changes;
          if (changes < CHUNK) break;
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

/** What retention reads of the config: the default, the topics' own, and which sources write where. */
export interface RetentionSettings {
  engine: Pick<EngineConfig, "retention">;
  topics: readonly Pick<TopicConfig, "name" | "retention">[];
  sources: readonly { type: string; topic?: string }[];
}

/**
 * A topic's retention: its own setting, else `engine.retention`. A topic an API
 * source writes holds the API's current state, and unchanged items are deliberately
 * not rewritten, so age says nothing about it: it keeps its rows unless told otherwise.
 */
export function topicRetention(config: RetentionSettings, topic: string): number {
  const own = config.topics.find((t) => t.name === topic)?.retention;
  if (own !== undefined) return own;
  const snapshot = config.sources.some((s) => s.type === "api" && s.topic === topic);
  return snapshot ? 0 : config.engine.retention;
}
