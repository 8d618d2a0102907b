/**
 * The retry worker: sends each due `retrying` entry again through its sink, with
 * exponential backoff and jitter per entry, until it is delivered or `dead`. While a
 * sink's peer is down, one batch probes it per backoff step instead of every entry
 * failing in turn. Delivered entries are pruned after `pruneAfterMs`.
 */
import { backoffDelay } from "../backoff.ts";
import type { Clock } from "../types.ts";
import type { Logger } from "../log.ts";
import type { DlqStore } from "./store.ts";
import type { SinkGate } from "./gate.ts";
import {
  addOutcome,
  emptyOutcome,
  type Outcome,
  redeliver,
  type RetryPolicy,
} from "./redeliver.ts";

export interface WorkerOptions {
  policy: RetryPolicy;
  /** How long a claim holds an entry; a holder that dies releases it after this. */
  leaseMs: number;
  /** Delivered entries older than this are deleted; 0 keeps them. */
  pruneAfterMs: number;
  /** Longest sleep between passes, so entries written by other processes are seen. */
  pollMs: number;
}

interface Probe {
  failures: number;
  until: number;
}

export class RetryWorker {
  /** Per sink whose peer seems down: consecutive failed probes, and when the next may go. */
  readonly #probes = new Map<string, Probe>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pass: Promise<Outcome> | undefined;
  #again = false;
  #running = false;
  #stopping = false;
  #lastPrune = -Infinity;

  constructor(
    readonly store: DlqStore,
    readonly gates: ReadonlyMap<string, SinkGate>,
    readonly owner: string,
    readonly opts: WorkerOptions,
    readonly clock: Clock,
    readonly log: Logger,
  ) {}

  /** Begins passes on timers; each pass ends by scheduling the next at the earliest due entry. */
  start(): void {
    this.#running = true;
    this.wake();
  }

  /** Runs a pass soon: new entries were written, or a sink may be back. */
  wake(): void {
    if (!this.#running) return;
    if (this.#pass) this.#again = true;
    else this.#schedule(0);
  }

  #schedule(delay: number): void {
    clearTimeout(this.#timer);
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.runDue()
        .catch((error) => this.log.error(`retry pass failed: ${(error as Error).message}`))
        .finally(() => this.#scheduleNext());
    }, Math.max(0, Math.min(delay, this.opts.pollMs)));
  }

  #scheduleNext(): void {
    if (!this.#running) return;
    if (this.#again) {
      this.#again = false;
      return this.#schedule(0);
    }
    this.#schedule(this.nextPassAt() - this.clock.now());
  }

  /** When the next pass has work: the earliest due entry of a sink that is not paused. */
  nextPassAt(): number {
    let at = Infinity;
    for (const [sink, due] of this.store.nextDue()) {
      if (!this.gates.has(sink)) continue;
      at = Math.min(at, Math.max(due, this.#probes.get(sink)?.until ?? -Infinity));
    }
    return at;
  }

  /**
   * One pass: for every sink not paused, sends its due entries in batches, oldest first,
   * then prunes delivered entries. Resolves with what happened.
   */
  runDue(): Promise<Outcome> {
    if (this.#pass) return this.#pass.then(() => this.runDue());
    this.#pass = this.#runDue().finally(() => this.#pass = undefined);
    return this.#pass;
  }

  async #runDue(): Promise<Outcome> {
    const total = emptyOutcome();
    const now = this.clock.now();
    const sinks = [...this.store.nextDue()]
      .filter(([sink, due]) =>
        this.gates.has(sink) && due <= now && (this.#probes.get(sink)?.until ?? -Infinity) <= now
      )
      .map(([sink]) => sink);
    await Promise.all(sinks.map(async (sink) => addOutcome(total, await this.#drainSink(sink))));
    this.#prune();
    return total;
  }

  async #drainSink(sink: string): Promise<Outcome> {
    const gate = this.gates.get(sink)!;
    const outcome = emptyOutcome();
    while (!this.#stopping) {
      const claimed = this.store.claimDue(
        sink,
        this.clock.now(),
        gate.maxBatch,
        this.owner,
        this.opts.leaseMs,
      );
      if (claimed.length === 0) break;
      const result = await redeliver(
        this.store,
        gate,
        claimed,
        this.owner,
        this.opts.policy,
        () => this.clock.now(),
      );
      addOutcome(outcome, result);
      if (result.transient) {
        // The peer is down: leave the other due entries alone and probe again later.
        const failures = (this.#probes.get(sink)?.failures ?? 0) + 1;
        const wait = Math.round(
          backoffDelay(this.opts.policy.backoff, failures, this.opts.policy.random),
        );
        this.#probes.set(sink, { failures, until: this.clock.now() + wait });
        this.log.warn(
          `sink ${sink}: redelivery failed, probing again in ${wait} ms: ${result.transient.message}`,
        );
        break;
      }
      this.#probes.delete(sink);
    }
    if (outcome.delivered) {
      this.log.info(`sink ${sink}: redelivered ${outcome.delivered} entr(ies) from the DLQ`);
    }
    if (outcome.dead) {
      this.log.error(
        `sink ${sink}: ${outcome.dead} entr(ies) are dead; see litejoin dlq list --status dead`,
      );
    }
    return outcome;
  }

  #prune(): void {
    if (this.opts.pruneAfterMs <= 0) return;
    const now = this.clock.now();
    if (now - this.#lastPrune < Math.min(60_000, this.opts.pruneAfterMs)) return;
    this.#lastPrune = now;
    const pruned = this.store.prune(now - this.opts.pruneAfterMs);
    if (pruned) this.log.debug(`pruned ${pruned} delivered entr(ies)`);
  }

  /** Stops scheduling and waits for the pass in flight to finish its current batches. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopping = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#pass?.catch(() => {});
  }
}
