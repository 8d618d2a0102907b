/**
 * Delivery to one sink: a queue in arrival order, batches coalesced while a send is
 * in flight, inline retries with backoff, and a failure path for what still fails.
 */
import { type Backoff, backoffDelay, sleep } from "../backoff.ts";
import type { Result } from "../types.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { DeliveryError, type Sink } from "./sink.ts";

/**
 * Where results go when every inline attempt has failed. It resolves once the results
 * are safe elsewhere (the dead-letter queue), or logged and counted when there is none.
 */
export type FailureHandler = (
  sink: string,
  results: readonly Result[],
  error: Error,
) => Promise<void>;

export interface DeliveryOptions {
  /** Attempts after the first one fails. */
  retries: number;
  backoff: Backoff;
  /** Most results per send. */
  maxBatch: number;
}

interface Queued {
  results: readonly Result[];
  done: () => void;
}

export class SinkRunner {
  readonly #queue: Queued[] = [];
  #draining: Promise<void> | undefined;
  readonly #abort = new AbortController();
  readonly #delivered;
  readonly #failed;
  readonly #latency;
  readonly #retries;
  #failing: string | undefined;

  /**
   * `via` is the path sends take: the sink itself, or a wrapper of it such as the DLQ's
   * gate (`SinkGate.live`); `sink` stays the sink itself, for whoever asks what it is.
   */
  constructor(
    readonly sink: Sink,
    readonly opts: DeliveryOptions,
    readonly onFailure: FailureHandler,
    readonly log: Logger,
    metrics: Metrics,
    readonly via: Sink = sink,
  ) {
    this.#delivered = metrics.counter(
      "litejoin_sink_delivered_total",
      "Results delivered, by sink.",
    );
    this.#failed = metrics.counter(
      "litejoin_sink_failed_total",
      "Results whose inline delivery attempts all failed, by sink.",
    );
    this.#retries = metrics.counter(
      "litejoin_sink_retries_total",
      "Inline delivery retries, by sink.",
    );
    this.#latency = metrics.histogram(
      "litejoin_sink_send_seconds",
      "Time to send one batch to a sink, including retries.",
    );
  }

  get name(): string {
    return this.sink.name;
  }

  /** Results waiting to be sent. */
  get backlog(): number {
    return this.#queue.reduce((n, q) => n + q.results.length, 0);
  }

  /** Why the last send failed after every inline attempt; undefined once one succeeds. */
  get failing(): string | undefined {
    return this.#failing;
  }

  /**
   * Queues results and resolves once they are delivered or handed to the failure
   * path. Never rejects: a result that cannot be delivered never blocks the rest.
   */
  deliver(results: readonly Result[]): Promise<void> {
    if (results.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#queue.push({ results, done: resolve }));
    this.#draining ??= this.#drain().finally(() => this.#draining = undefined);
    return done;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length) {
      const taken: Queued[] = [];
      const batch: Result[] = [];
      while (this.#queue.length && batch.length < this.opts.maxBatch) {
        const next = this.#queue[0];
        if (batch.length && batch.length + next.results.length > this.opts.maxBatch) break;
        taken.push(this.#queue.shift()!);
        for (const r of next.results) batch.push(r);
      }
      await this.#send(batch);
      for (const q of taken) q.done();
    }
  }

  async #send(batch: Result[]): Promise<void> {
    const started = performance.now();
    let error: Error | undefined;
    for (let attempt = 0; attempt <= this.opts.retries; attempt++) {
      if (attempt > 0) {
        this.#retries.inc({ sink: this.name });
        const wait = error instanceof DeliveryError && error.opts.retryAfterMs !== undefined
          ? error.opts.retryAfterMs
          : backoffDelay(this.opts.backoff, attempt);
        await sleep(wait, this.#abort.signal);
      }
      try {
        await this.via.send(batch);
        this.#delivered.inc({ sink: this.name }, batch.length);
        this.#latency.observe({ sink: this.name }, (performance.now() - started) / 1000);
        this.#failing = undefined;
        return;
      } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
        if ((error instanceof DeliveryError && error.permanent) || this.#abort.signal.aborted) {
          break;
        }
      }
    }
    this.#failed.inc({ sink: this.name }, batch.length);
    this.#failing = error!.message;
    try {
      await this.onFailure(this.name, batch, error!);
    } catch (e) {
      this.log.error(
        `failure handler failed, ${batch.length} result(s) lost: ${(e as Error).message}`,
      );
    }
  }

  /**
   * Waits for queued results, then closes the sink. With `abandonRetries`, pending
   * backoff waits end at once and their results take the failure path.
   */
  async close(opts: { abandonRetries?: boolean } = {}): Promise<void> {
    if (opts.abandonRetries) this.#abort.abort();
    await this.#draining;
    await this.sink.close();
  }
}
