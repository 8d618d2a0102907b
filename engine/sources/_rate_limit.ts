/** A token bucket: at most `burst` requests at once, refilled at `rate` per second. */
import { sleep } from "../backoff.ts";
import type { Clock } from "../types.ts";

/**
 * Hands out one token per request. Reservations queue: when the bucket is empty, each
 * caller is told how long to wait, later callers longer, so that over any span of T
 * seconds at most `burst + rate × T` requests start. One bucket serves every request
 * of a source (all pages of a poll, and their retries).
 */
export class TokenBucket {
  #tokens: number;
  #updated: number;

  constructor(readonly rate: number, readonly burst: number, readonly clock: Clock) {
    if (!(rate > 0)) throw new RangeError(`rate must be above 0, got ${rate}`);
    if (!(burst >= 1)) throw new RangeError(`burst must be at least 1, got ${burst}`);
    this.#tokens = burst;
    this.#updated = clock.now();
  }

  /** Takes a token and returns the milliseconds to wait before using it (0: use it now). */
  reserve(): number {
    const now = this.clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#updated) * this.rate) / 1000);
    this.#updated = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.rate;
  }

  /** Resolves when the caller may send its request (at once when `signal` aborts). */
  async take(signal?: AbortSignal): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await sleep(wait, signal);
  }
}
