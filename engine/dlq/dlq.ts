/**
 * The dead-letter queue as the engine uses it: the sinks' failure path, the place
 * where sources keep inputs they cannot store, the retry worker, and the queue that
 * `litejoin dlq` and the console inspect.
 *
 * Ordering, as promised to users: for one sink and one result key, a result taken from
 * the queue is never delivered after a newer result for that key was delivered. When a
 * newer result for a key is delivered (live or from the queue), the key's older queued
 * entries are marked delivered (`superseded`) and are not sent: sinks receive the
 * latest state of every key, not necessarily every intermediate change. Within one
 * engine, live sends and redeliveries to a sink never overlap (`SinkGate`). A replay
 * run by `litejoin dlq --offline` in another process is still sent at most once per
 * entry, but may overlap a live send of the same key.
 */
import { boolean, type Infer, integer, object } from "../schema/schema.ts";
import { backoffSpec } from "../schema/common.ts";
import { duration } from "../schema/units.ts";
import { type Backoff, backoffDelay, sleep } from "../backoff.ts";
import type { Clock, Result } from "../types.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Sink } from "../sinks/sink.ts";
import type { FailureHandler } from "../sinks/runner.ts";
import type { Synchronous } from "../store/sqlite.ts";
import { DeliveryError } from "../sinks/sink.ts";
import { DlqStore, type RejectedInput } from "./store.ts";
import { SinkGate } from "./gate.ts";
import type { RetryPolicy } from "./redeliver.ts";
import { RetryWorker } from "./worker.ts";
import { LocalDlq } from "./api.ts";

export type { RejectedInput };

export const spec = object({
  enabled: boolean().default(true).describe(
    "Keep results that fail after the sink's inline retries in data_dir/dlq.db and retry them; " +
      "false logs and drops them.",
  ),
  max_attempts: integer({ min: 1, max: 10_000 }).default(8).describe(
    "Failed attempts (the sink's inline attempts count as the first) after which an entry is dead. " +
      "Dead entries wait for a replay.",
  ),
  backoff: backoffSpec({ initial: 1000, max: 300_000 }).describe(
    "Delay before each redelivery of an entry.",
  ),
  prune_delivered_after: duration().default(24 * 3_600_000).describe(
    "Delivered entries are deleted after this long; 0 keeps them.",
  ),
});

export type DlqConfig = Infer<typeof spec>;

/** How long a claim holds an entry: a holder that dies mid-send releases it after this. */
export const LEASE_MS = 10 * 60_000;
/** Longest the worker sleeps, so entries changed by `litejoin dlq` are seen. */
export const POLL_MS = 1000;
/** Delays between attempts to write failed results when dlq.db cannot be written. */
const WRITE_RETRY: Backoff = { initial: 100, max: 5000, multiplier: 2, jitter: 0.2 };

/**
 * Where a source keeps an input it cannot store (a Kafka message that is not JSON, an API
 * item without its key), so the operator sees it in `litejoin dlq list --status rejected`.
 */
export interface Rejects {
  /**
   * Resolves once the input is committed to `dlq.db` (only then may a source commit
   * past it, e.g. a Kafka offset). Never rejects: if the queue cannot take it, the
   * input is logged in full and counted instead.
   */
  reject(input: RejectedInput): Promise<void>;
}

/** For `dlq.enabled: false`: rejected inputs are logged and counted, not kept. */
export function loggedRejects(log: Logger, metrics: Metrics): Rejects {
  const counter = metrics.counter(
    "litejoin_dlq_rejected_total",
    "Inputs that sources could not store, by source.",
  );
  return {
    reject(input) {
      counter.inc({ source: input.source });
      log.warn(`source ${input.source} rejected an input: ${input.reason}`, {
        raw: typeof input.raw === "string" ? input.raw.slice(0, 1000) : `${input.raw.length} bytes`,
      });
      return Promise.resolve();
    },
  };
}

export interface DlqOptions {
  dataDir: string;
  synchronous?: Synchronous;
  busyTimeoutMs?: number;
  /** 0 while Litestream replicates: it checkpoints dlq.db (see store/sqlite.ts). */
  walAutocheckpoint?: number;
  clock: Clock;
  /** The engine's logger: the queue logs as `dlq`, and about a sink's results as `sink.<name>`. */
  log: Logger;
  metrics: Metrics;
  /** For jitter; tests fix it. */
  random?: () => number;
}

export class Dlq implements Rejects {
  readonly store: DlqStore;
  readonly gates = new Map<string, SinkGate>();
  readonly #sinkNames: string[] = [];
  readonly policy: RetryPolicy;
  readonly worker: RetryWorker;
  readonly api: LocalDlq;
  /** Leases taken by this engine; a later engine releases those of one that died. */
  readonly owner = `engine:${Deno.pid}:${crypto.randomUUID().slice(0, 8)}`;
  readonly #added;
  /** Lines about the queue itself; lines about one sink's results name the sink. */
  readonly #log: Logger;
  readonly #stopping = new AbortController();
  readonly #rejected;

  constructor(readonly config: DlqConfig, readonly opts: DlqOptions) {
    this.#log = opts.log.child("dlq");
    this.store = new DlqStore(`${opts.dataDir}/dlq.db`, {
      synchronous: opts.synchronous,
      busyTimeoutMs: opts.busyTimeoutMs,
      walAutocheckpoint: opts.walAutocheckpoint,
    });
    // One engine per data directory (LOCK): leases of engines are those of a dead one.
    const released = this.store.releaseAll("engine:");
    if (released) this.#log.info(`released ${released} entr(ies) claimed by a stopped engine`);
    this.policy = {
      maxAttempts: config.max_attempts,
      backoff: config.backoff,
      random: opts.random,
    };
    this.worker = new RetryWorker(
      this.store,
      this.gates,
      this.owner,
      {
        policy: this.policy,
        leaseMs: LEASE_MS,
        pruneAfterMs: config.prune_delivered_after,
        pollMs: POLL_MS,
      },
      opts.clock,
      this.#log,
    );
    this.api = new LocalDlq(this.store, {
      sinks: this.#sinkNames,
      gates: () => Promise.resolve(this.gates),
      owner: this.owner,
      leaseMs: LEASE_MS,
      policy: this.policy,
      clock: opts.clock,
    });
    this.#added = opts.metrics.counter(
      "litejoin_dlq_added_total",
      "Results written to the dead-letter queue after a sink's inline retries failed, by sink.",
    );
    this.#rejected = opts.metrics.counter(
      "litejoin_dlq_rejected_total",
      "Inputs that sources could not store, by source.",
    );
    this.#observe(opts.metrics);
  }

  /**
   * Registers a sink with the queue and returns what its runner sends to: the sink
   * wrapped in its gate (`SinkGate.live`), so that live sends and redeliveries take
   * turns, and a live delivery supersedes older queued results for its keys.
   */
  gate(sink: Sink, maxBatch: number): Sink {
    const gate = new SinkGate(sink, maxBatch, (keys) => {
      try {
        this.store.supersede(sink.name, keys, this.opts.clock.now());
      } catch (error) {
        this.#log.error(
          `sink ${sink.name}: marking older queued results superseded failed: ${
            (error as Error).message
          }`,
        );
      }
    });
    gate.queued(this.store.undeliveredKeys(sink.name));
    this.gates.set(sink.name, gate);
    this.#sinkNames.push(sink.name);
    return gate.live();
  }

  /**
   * The runners' failure path: resolves once the results are committed to `dlq.db`. If
   * the file cannot be written (disk full, locked), it keeps trying, holding up that
   * sink only; once the engine is stopping it logs the results in full instead.
   */
  readonly onFailure: FailureHandler = async (sink, results, error) => {
    const log = this.opts.log.child(`sink.${sink}`);
    let dead = false;
    for (let attempt = 1;; attempt++) {
      try {
        dead = this.#add(sink, results, error);
        break;
      } catch (e) {
        const why = (e as Error).message;
        if (this.#stopping.signal.aborted) {
          log.error(
            `${results.length} result(s) could not be written to the DLQ (${why}) and are lost: ` +
              JSON.stringify(results),
          );
          return;
        }
        log.error(
          `cannot write ${results.length} result(s) to dlq.db (attempt ${attempt}); ` +
            `retrying, sink held meanwhile: ${why}`,
        );
        await sleep(backoffDelay(WRITE_RETRY, attempt), this.#stopping.signal);
      }
    }
    this.#added.inc({ sink }, results.length);
    const line = `${results.length} result(s) not delivered after all retries, ${
      dead ? "dead in the DLQ" : "queued in the DLQ"
    }: ${error.message}`;
    if (dead) log.error(line);
    else log.warn(line);
    if (!dead) this.worker.wake();
  };

  /** Writes the entries; returns whether they are dead at once. */
  #add(sink: string, results: readonly Result[], error: Error): boolean {
    const now = this.opts.clock.now();
    const permanent = error instanceof DeliveryError && error.permanent && results.length === 1;
    const dead = permanent || this.policy.maxAttempts <= 1;
    const next = now + Math.round(backoffDelay(this.policy.backoff, 1, this.policy.random));
    this.store.add(sink, results, error.message, now, dead ? "dead" : "retrying", next);
    this.gates.get(sink)?.queued(results);
    return dead;
  }

  reject(input: RejectedInput): Promise<void> {
    this.#rejected.inc({ source: input.source });
    try {
      this.store.reject(input, this.opts.clock.now());
    } catch (error) {
      this.#log.error(
        `source ${input.source}: could not keep a rejected input in the DLQ (${
          (error as Error).message
        }); it was: ${typeof input.raw === "string" ? input.raw : `${input.raw.length} bytes`}`,
      );
    }
    return Promise.resolve();
  }

  /** Starts the retry worker; call once every sink is registered. */
  start(): void {
    for (const sink of this.store.nextDue().keys()) {
      if (this.gates.has(sink)) continue;
      this.#log.warn(
        `dlq.db holds entries for sink ${sink}, which is not configured; they wait until it is ` +
          `added back, or purge them with litejoin dlq purge --sink ${sink}`,
      );
    }
    this.worker.start();
  }

  /**
   * Stops the retry worker (its batches in flight finish). Failures still arriving are
   * written as usual; a write that fails from now on is logged instead of retried.
   */
  stop(): Promise<void> {
    this.#stopping.abort();
    return this.worker.stop();
  }

  /** Closes `dlq.db`; stops the worker first if `stop` was not awaited (a failed start). */
  close(): void {
    void this.worker.stop();
    this.store.close();
  }

  #observe(metrics: Metrics): void {
    const entries = metrics.gauge(
      "litejoin_dlq_entries",
      "Entries in the dead-letter queue, by sink and status (retrying, dead, delivered).",
    );
    const age = metrics.gauge(
      "litejoin_dlq_oldest_entry_age_seconds",
      "Age of the oldest undelivered entry (retrying or dead), by sink; 0 when there is none.",
    );
    const rejected = metrics.gauge(
      "litejoin_dlq_rejected_inputs",
      "Inputs kept in the dead-letter queue because a source could not store them, by source.",
    );
    let stats: ReturnType<DlqStore["stats"]> | undefined;
    const refresh = () => {
      if (!this.store.db.isOpen) return;
      stats = this.store.stats(this.#sinkNames);
    };
    entries.collect(() => {
      refresh();
      if (!stats) return;
      entries.values.clear();
      age.values.clear();
      const now = this.opts.clock.now();
      for (const [sink, s] of Object.entries(stats.by_sink)) {
        for (const status of ["retrying", "dead", "delivered"] as const) {
          entries.set({ sink, status }, s[status]);
        }
        age.set({ sink }, s.oldest_failed_at === null ? 0 : (now - s.oldest_failed_at) / 1000);
      }
    });
    rejected.collect(() => {
      if (!stats) return;
      rejected.values.clear();
      for (const [source, n] of Object.entries(stats.rejected)) rejected.set({ source }, n);
    });
  }
}
