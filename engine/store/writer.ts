/**
 * The batched writer: one writer thread per shard, fed by group commit. Messages for a
 * shard gather while its previous batch commits, and go as one transaction as soon as
 * the thread is free, the batch reaches `batchSize`, or at the latest after
 * `flushInterval`. Batches grow with load, and a commit's fsync never blocks the
 * thread that serves HTTP.
 */
import { setImmediate } from "node:timers";
import type { Message } from "../types.ts";
import { shardOf } from "./fnv.ts";
import { type Row, shardPath, type TopicCount, type Versions } from "./shard.ts";
import type { ShardCommand, ShardDone, ShardReply } from "./shard_worker.ts";
import type { Synchronous } from "./sqlite.ts";
import type { TopicIndex } from "./indexes.ts";

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

/** A shard whose last commit failed, with SQLite's error ("database or disk is full"). */
export interface CommitFailure {
  shard: number;
  error: string;
}

/** While a shard's commits fail, how often it commits a small probe to see if it has room again. */
export const PROBE_INTERVAL_MS = 2000;
/**
 * Rows an eviction removed from one shard (retention's deletes, tiering's move to the
 * warm tier): not writes, but the rows are gone all the same. The eviction took seq
 * `seq` of the shard, so progress recorded up to a seq covers the evictions before it.
 */
export interface Eviction {
  shard: number;
  seq: number;
  topic: string;
  keys: readonly string[];
}

export type EvictionListener = (eviction: Eviction) => void;

/** Raised when the writer cannot take more messages right now; try again shortly. */
export class BacklogError extends Error {
  constructor(readonly backlog: number) {
    super(`the writer is behind (${backlog} messages waiting); retry shortly`);
    this.name = "BacklogError";
  }
}

export interface WriterOptions {
  dataDir: string;
  shardCount: number;
  topics: readonly string[];
  synchronous?: Synchronous;
  busyTimeoutMs?: number;
  /** See `OpenOptions.walAutocheckpoint`. */
  walAutocheckpoint?: number;
  /** Longest a message waits before the commit that holds it starts. */
  flushIntervalMs: number;
  /** Most messages per commit, and the size at which a batch goes at once. */
  batchSize: number;
  /** Messages that may wait uncommitted before `write` refuses more. */
  maxBacklog: number;
  /** While a shard's commits fail, how often it probes for room (default `PROBE_INTERVAL_MS`). */
  probeIntervalMs?: number;
  /** Record a tombstone for every delete (tiering needs them). */
  tombstones?: boolean;
  /** Payload indexes every shard keeps (see `indexes.ts`). */
  indexes?: readonly TopicIndex[];
}

class PendingBatch {
  readonly messages: Message[] = [];
  readonly done = Promise.withResolvers<void>();
  constructor() {
    // A batch nobody awaits (all its writers gave up) must not crash the process.
    this.done.promise.catch(() => {});
  }
}

/** One shard's writer thread and the request-reply channel to it. */
class ShardThread {
  readonly worker: Worker;
  readonly #waiting = new Map<number, PromiseWithResolvers<ShardDone>>();
  #nextId = 1;
  seq = 0;
  /** Per topic, as the shard last reported: rows stored, messages written since open. */
  counts: Record<string, TopicCount> = {};
  pending: PendingBatch | undefined;
  /** The batch being committed now. */
  inflight: PendingBatch | undefined;
  committing = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Why the last commit (or space probe) failed; undefined once one succeeds. */
  failure: string | undefined;
  probeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly index: number) {
    this.worker = new Worker(new URL("./shard_worker.ts", import.meta.url), { type: "module" });
    this.worker.onmessage = (event: MessageEvent<ShardReply>) => {
      const reply = event.data;
      if ("counts" in reply && reply.counts) this.counts = reply.counts;
      const waiter = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      if ("error" in reply) waiter?.reject(new Error(reply.error));
      else waiter?.resolve(reply);
    };
    this.worker.onerror = (event) => {
      event.preventDefault();
      for (const waiter of this.#waiting.values()) {
        waiter.reject(new Error(`writer thread of shard ${index} failed: ${event.message}`));
      }
      this.#waiting.clear();
    };
  }

  request(command: ShardCommand): Promise<ShardDone> {
    const id = this.#nextId++;
    const waiter = Promise.withResolvers<ShardDone>();
    this.#waiting.set(id, waiter);
    this.worker.postMessage({ ...command, id });
    return waiter.promise;
  }
}

/**
 * The only path by which messages reach the shards. `write` resolves after the
 * commit that holds the last of its messages, and rejects if a commit holding any of
 * them failed (then that shard stored none of them). A resolved `write` is durable.
 */
export class Writer {
  readonly #threads: ShardThread[];
  readonly #listeners = new Set<CommitListener>();
  readonly #evictionListeners = new Set<EvictionListener>();
  #backlog = 0;
  #closed = false;
  /** Payload indexes each shard created or dropped when it opened. */
  readonly indexChanges: { shard: number; created: string[]; dropped: string[] }[] = [];

  private constructor(readonly options: WriterOptions) {
    this.#threads = Array.from({ length: options.shardCount }, (_, i) => new ShardThread(i));
  }

  /** Starts one writer thread per shard, creating shard files and topic tables as needed. */
  static async open(options: WriterOptions): Promise<Writer> {
    const writer = new Writer(options);
    try {
      await Promise.all(writer.#threads.map(async (thread) => {
        const reply = await thread.request({
          op: "open",
          index: thread.index,
          path: shardPath(options.dataDir, thread.index),
          topics: [...options.topics],
          synchronous: options.synchronous ?? "full",
          busyTimeoutMs: options.busyTimeoutMs ?? 5000,
          tombstones: options.tombstones ?? false,
          indexes: options.indexes ? [...options.indexes] : undefined,
          walAutocheckpoint: options.walAutocheckpoint,
        });
        thread.seq = reply.seq;
        if (reply.indexes) writer.indexChanges.push({ shard: thread.index, ...reply.indexes });
      }));
    } catch (error) {
      for (const thread of writer.#threads) thread.worker.terminate();
      throw new Error(`cannot open the shards in ${options.dataDir}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return writer;
  }

  /** Messages accepted but not yet committed. */
  get backlog(): number {
    return this.#backlog;
  }

  /**
   * The shards whose last commit failed. A shard leaves the list with its next commit
   * that succeeds: a batch, or the probe it commits every `PROBE_INTERVAL_MS` while
   * failing, so that it recovers even when no input arrives (say, a load balancer
   * stopped sending while the disk was full).
   */
  failures(): CommitFailure[] {
    return this.#threads.filter((t) => t.failure !== undefined)
      .map((t) => ({ shard: t.index, error: t.failure! }));
  }

  /** Per shard, the seq of the last committed write. */
  seqs(): number[] {
    return this.#threads.map((t) => t.seq);
  }

  /**
   * Per topic, summed over the shards: rows stored now (exact, kept by the shards from
   * one count at open) and messages written since the writer opened. Costs no I/O.
   */
  topicCounts(): Map<string, TopicCount> {
    const total = new Map<string, TopicCount>();
    for (const topic of this.options.topics) total.set(topic, { rows: 0, written: 0 });
    for (const thread of this.#threads) {
      for (const [topic, count] of Object.entries(thread.counts)) {
        const sum = total.get(topic);
        if (!sum) continue;
        sum.rows += count.rows;
        sum.written += count.written;
      }
    }
    return total;
  }

  /**
   * Queues the messages and resolves once every one of them is committed. Messages
   * for one shard from one call commit together. Throws `BacklogError` at once,
   * queueing nothing, when the backlog is full.
   */
  write(messages: readonly Message[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("the writer is closed"));
    if (messages.length === 0) return Promise.resolve();
    if (this.#backlog > 0 && this.#backlog + messages.length > this.options.maxBacklog) {
      return Promise.reject(new BacklogError(this.#backlog));
    }
    const count = this.#threads.length;
    if (messages.length === 1) return this.#enqueue(shardOf(messages[0].key, count), messages);
    const byShard: Message[][] = this.#threads.map(() => []);
    for (const message of messages) byShard[shardOf(message.key, count)].push(message);
    const waits: Promise<void>[] = [];
    byShard.forEach((group, shard) => {
      if (group.length) waits.push(this.#enqueue(shard, group));
    });
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => {});
  }

  #enqueue(shard: number, messages: readonly Message[]): Promise<void> {
    const thread = this.#threads[shard];
    let batch = thread.pending;
    if (!batch) {
      batch = thread.pending = new PendingBatch();
      // Gather what arrives in this turn of the event loop (every request read in this
      // I/O phase); the flush interval bounds the wait while the thread is busy.
      thread.timer = setTimeout(() => this.#commit(thread), this.options.flushIntervalMs);
      setImmediate(() => this.#commit(thread));
    }
    for (const message of messages) batch.messages.push(message);
    this.#backlog += messages.length;
    return batch.done.promise;
  }

  /** Sends the pending batch if the thread is free. */
  #commit(thread: ShardThread): void {
    const batch = thread.pending;
    if (!batch || thread.committing) return;
    clearTimeout(thread.timer);
    thread.pending = undefined;
    thread.committing = true;
    thread.inflight = batch;
    const rows: Row[] = batch.messages.map((m) => [
      m.topic,
      m.key,
      m._change?.op === "delete" ? null : JSON.stringify(m.payload),
      m.timestamp,
      m._change ? JSON.stringify(m._change) : null,
    ]);
    thread.request({ op: "apply", rows }).then(
      (reply) => {
        thread.seq = reply.seq;
        this.#recovered(thread);
        this.#backlog -= batch.messages.length;
        const committed: CommittedBatch = {
          shard: thread.index,
          seq: reply.seq,
          messages: batch.messages,
          commitMs: reply.commitMs ?? 0,
        };
        for (const listener of this.#listeners) {
          try {
            listener(committed);
          } catch (error) {
            console.error(`commit listener failed: ${(error as Error).message}`);
          }
        }
        batch.done.resolve();
      },
      (error: Error) => {
        this.#failed(thread, error.message);
        this.#backlog -= batch.messages.length;
        batch.done.reject(
          new Error(`commit to shard ${thread.index} failed: ${error.message}`, { cause: error }),
        );
      },
    ).finally(() => {
      thread.committing = false;
      thread.inflight = undefined;
      if (thread.pending) {
        if (thread.pending.messages.length >= this.options.batchSize) this.#commit(thread);
        else setImmediate(() => this.#commit(thread));
      }
    });
  }

  #recovered(thread: ShardThread): void {
    thread.failure = undefined;
    clearTimeout(thread.probeTimer);
    thread.probeTimer = undefined;
  }

  /** Records the failure, and probes for room again later unless a commit succeeds first. */
  #failed(thread: ShardThread, error: string): void {
    thread.failure = error;
    if (thread.probeTimer !== undefined || this.#closed) return;
    thread.probeTimer = setTimeout(() => {
      thread.probeTimer = undefined;
      if (thread.failure === undefined || this.#closed) return;
      // A batch on its way answers the question itself.
      if (thread.committing || thread.pending) return this.#failed(thread, thread.failure);
      thread.request({ op: "probe" }).then(
        () => this.#recovered(thread),
        (e: Error) => this.#failed(thread, e.message),
      );
    }, this.options.probeIntervalMs ?? PROBE_INTERVAL_MS);
  }

  /**
   * Caps every shard file at its current size, or lifts the cap: while capped, commits
   * that need room fail as on a full disk. For fault drills and tests.
   */
  async capSize(capped: boolean): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.request({ op: "capSize", capped })));
  }

  /** Deletes up to `limit` rows of `topic` older than `cutoff` in one shard; returns how many. */
  async expire(shard: number, topic: string, cutoff: number, limit: number): Promise<number> {
    return this.#evicted(
      shard,
      await this.#threads[shard].request({ op: "expire", topic, cutoff, limit }),
    );
  }

  /** Tells the eviction listeners what an eviction removed; returns how many rows. */
  #evicted(shard: number, reply: ShardDone): number {
    for (const { topic, keys } of reply.evicted ?? []) {
      this.#threads[shard].seq = Math.max(this.#threads[shard].seq, reply.seq);
      for (const listener of this.#evictionListeners) {
        try {
          listener({ shard, seq: reply.seq, topic, keys });
        } catch (error) {
          console.error(`eviction listener failed: ${(error as Error).message}`);
        }
      }
    }
    return reply.changes ?? 0;
  }

  /**
   * Deletes exactly the given versions of `topic` (each a key with its `_seq` and
   * timestamp) in one shard, in one transaction between that shard's batches, or the
   * same versions of its tombstones; returns how many were still there. Safe to repeat.
   */
  async evict(
    shard: number,
    topic: string,
    versions: Versions,
    tombstones = false,
  ): Promise<number> {
    const reply = await this.#threads[shard].request({ op: "evict", topic, versions, tombstones });
    return this.#evicted(shard, reply);
  }

  /**
   * Deletes up to `limit` of the rows (or tombstones) of `topic` that an export read in
   * `[from, to)` from a snapshot of `shard` at seq `upTo`, and only those (see
   * `Shard.evictExported`), between that shard's batches; returns how many.
   */
  async evictExported(
    shard: number,
    topic: string,
    range: { from: number; to: number; upTo: number },
    limit: number,
    tombstones = false,
  ): Promise<number> {
    const reply = await this.#threads[shard].request({
      op: "evictExported",
      topic,
      ...range,
      limit,
      tombstones,
    });
    return this.#evicted(shard, reply);
  }

  /** Checkpoints one shard's WAL (PASSIVE: never blocks readers or commits). */
  async checkpoint(shard: number): Promise<void> {
    await this.#threads[shard].request({ op: "checkpoint" });
  }

  /**
   * Calls `listener` after every eviction that removed rows, in seq order per shard with
   * the commits. Returns a function that stops it.
   */
  onEvict(listener: EvictionListener): () => void {
    this.#evictionListeners.add(listener);
    return () => this.#evictionListeners.delete(listener);
  }

  /** Calls `listener` after every commit, in commit order per shard. Returns a function that stops it. */
  onCommit(listener: CommitListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once everything queued now is committed (or has failed). */
  async flush(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const thread of this.#threads) {
      if (thread.pending) {
        waits.push(thread.pending.done.promise);
        this.#commit(thread);
      }
    }
    await Promise.allSettled(waits);
    if (this.#threads.some((t) => t.pending || t.committing)) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return this.flush();
    }
  }

  /**
   * Resolves once every message queued before the call is committed (or its commit
   * failed) and commit listeners have seen it. Unlike `flush`, it does not wait for
   * messages queued later, so it returns promptly under sustained load.
   */
  barrier(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const thread of this.#threads) {
      if (thread.inflight) waits.push(thread.inflight.done.promise);
      if (thread.pending) waits.push(thread.pending.done.promise);
    }
    return Promise.allSettled(waits).then(() => {});
  }

  /** Commits what is queued, refuses further writes, and closes the shards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    for (const thread of this.#threads) clearTimeout(thread.probeTimer);
    await Promise.allSettled(this.#threads.map((t) => t.request({ op: "close" })));
    for (const thread of this.#threads) thread.worker.terminate();
  }
}
