/**
 * The batched writer: one queue per shard, committed every `flushInterval` or once
 * `batchSize` messages wait, whichever comes first (group commit).
 */
import type { Message } from "../types.ts";
import type { Shard } from "./shard.ts";
import { shardOf } from "./fnv.ts";

/** What one commit of one shard wrote. Listeners get it right after the commit. */
export interface CommittedBatch {
  shard: number;
  /** The shard's seq after this commit; rows of this batch have seqs up to it. */
  seq: number;
  messages: readonly Message[];
  /** How long the transaction took, in milliseconds. */
  commitMs: number;
}

export type CommitListener = (batch: CommittedBatch) => void;

/** Raised when the writer cannot take more messages right now; try again shortly. */
export class BacklogError extends Error {
  constructor(readonly backlog: number) {
    super(`the writer is behind (${backlog} messages waiting); retry shortly`);
    this.name = "BacklogError";
  }
}

export interface WriterOptions {
  flushIntervalMs: number;
  batchSize: number;
  /** Messages that may wait uncommitted before `write` refuses more. */
  maxBacklog: number;
}

class PendingBatch {
  readonly messages: Message[] = [];
  readonly committed: Promise<void>;
  resolve!: () => void;
  reject!: (error: Error) => void;
  constructor() {
    this.committed = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A batch nobody awaits (all its writers gave up) must not crash the process.
    this.committed.catch(() => {});
  }
}

/**
 * The only path by which messages reach the shards. `write` resolves after the
 * commit that holds the last of its messages, and rejects if a commit holding any of
 * them failed (then that shard stored none of them). A resolved `write` is durable.
 */
export class Writer {
  readonly #pending: (PendingBatch | undefined)[];
  readonly #timers: (ReturnType<typeof setTimeout> | undefined)[];
  readonly #listeners = new Set<CommitListener>();
  #backlog = 0;
  #closed = false;

  constructor(readonly shards: readonly Shard[], readonly options: WriterOptions) {
    this.#pending = shards.map(() => undefined);
    this.#timers = shards.map(() => undefined);
  }

  /** Messages accepted but not yet committed. */
  get backlog(): number {
    return this.#backlog;
  }

  /**
   * Queues the messages and resolves once every one of them is committed. Messages
   * for one shard from one call commit together. Throws `BacklogError` at once,
   * queueing nothing, when the backlog is full.
   */
  write(messages: readonly Message[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("the writer is closed"));
    if (messages.length === 0) return Promise.resolve();
    if (this.#backlog + messages.length > this.options.maxBacklog && this.#backlog > 0) {
      return Promise.reject(new BacklogError(this.#backlog));
    }
    const count = this.shards.length;
    if (messages.length === 1) {
      return this.#enqueue(shardOf(messages[0].key, count), messages).committed;
    }
    const byShard: Message[][] = this.shards.map(() => []);
    for (const message of messages) byShard[shardOf(message.key, count)].push(message);
    const waits: Promise<void>[] = [];
    byShard.forEach((group, shard) => {
      if (group.length) waits.push(this.#enqueue(shard, group).committed);
    });
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => {});
  }

  #enqueue(shard: number, messages: readonly Message[]): PendingBatch {
    let batch = this.#pending[shard];
    if (!batch) {
      batch = this.#pending[shard] = new PendingBatch();
      this.#timers[shard] = setTimeout(() => this.#commit(shard), this.options.flushIntervalMs);
    }
    for (const message of messages) batch.messages.push(message);
    this.#backlog += messages.length;
    if (batch.messages.length >= this.options.batchSize) {
      clearTimeout(this.#timers[shard]);
      this.#timers[shard] = setTimeout(() => this.#commit(shard), 0);
    }
    return batch;
  }

  #commit(shard: number): void {
    const batch = this.#pending[shard];
    clearTimeout(this.#timers[shard]);
    this.#pending[shard] = undefined;
    this.#timers[shard] = undefined;
    if (!batch) return;
    this.#backlog -= batch.messages.length;
    const started = performance.now();
    let seq: number;
    try {
      seq = this.shards[shard].apply(batch.messages);
    } catch (error) {
      batch.reject(
        new Error(`commit to shard ${shard} failed: ${(error as Error).message}`, { cause: error }),
      );
      return;
    }
    const committed: CommittedBatch = {
      shard,
      seq,
      messages: batch.messages,
      commitMs: performance.now() - started,
    };
    for (const listener of this.#listeners) {
      try {
        listener(committed);
      } catch (error) {
        console.error(`commit listener failed: ${(error as Error).message}`);
      }
    }
    batch.resolve();
  }

  /** Calls `listener` after every commit, in commit order. Returns a function that stops it. */
  onCommit(listener: CommitListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Commits everything queued now, and resolves when it is committed. */
  async flush(): Promise<void> {
    const waits: Promise<void>[] = [];
    this.shards.forEach((_, shard) => {
      const batch = this.#pending[shard];
      if (!batch) return;
      waits.push(batch.committed);
      this.#commit(shard);
    });
    await Promise.allSettled(waits);
  }

  /** Commits what is queued, then refuses further writes. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }
}
