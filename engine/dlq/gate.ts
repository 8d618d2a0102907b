/**
 * One gate per sink, shared by the sink's runner (live results) and the DLQ (retries
 * and replays): sends to a sink never overlap, so a redelivery and a newer live result
 * for the same key reach the peer in a known order, and a live delivery supersedes the
 * queued older results for its keys before anyone can send them.
 */
import type { Result } from "../types.ts";
import type { CarriedSet, Sink } from "../sinks/sink.ts";

export class SinkGate {
  #tail: Promise<unknown> = Promise.resolve();
  /** The keys (join or window name, key) with an undelivered entry in the queue. */
  readonly #queued = new Set<string>();
  /** The sink's own send. */
  readonly #send: (results: readonly Result[]) => Promise<void>;

  /**
   * `supersede` marks the queued entries of delivered keys as delivered; it runs inside
   * the gate, right after a live send succeeds.
   */
  constructor(
    readonly sink: Sink,
    readonly maxBatch: number,
    readonly supersede: (keys: { source: string; key: string }[]) => void,
  ) {
    this.#send = sink.send.bind(sink);
  }

  get name(): string {
    return this.sink.name;
  }

  /**
   * The sink as its runner sees it: live results go through the gate; closing, and
   * declaring carried result sets if the sink carries any, go to the sink itself. The
   * sink is wrapped, never changed.
   */
  live(): Sink {
    const { sink } = this;
    const live: Sink = {
      name: sink.name,
      send: (results) => this.exclusive(() => this.#sendLive(results)),
      close: () => sink.close(),
    };
    if (sink.carry) live.carry = (sets: CarriedSet[]) => sink.carry!(sets);
    return live;
  }

  /** Sends as the sink itself would: for redeliveries, from inside `exclusive`. */
  send(results: readonly Result[]): Promise<void> {
    return this.#send(results);
  }

  /** Runs `fn` with the sink to itself. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn);
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Notes that `results` now have entries in the queue. */
  queued(results: readonly { name: string; key: string }[]): void {
    for (const r of results) this.#queued.add(`${r.name}\0${r.key}`);
  }

  async #sendLive(results: readonly Result[]): Promise<void> {
    await this.#send(results);
    if (this.#queued.size === 0) return;
    const keys: { source: string; key: string }[] = [];
    for (const r of results) {
      if (this.#queued.delete(`${r.name}\0${r.key}`)) keys.push({ source: r.name, key: r.key });
    }
    if (keys.length) this.supersede(keys);
  }
}
