/** Exponential backoff with jitter, shared by sinks, the DLQ worker and sources. */

export interface Backoff {
  initial: number;
  max: number;
  multiplier: number;
  /** 0..1: this fraction of the delay is drawn at random. */
  jitter: number;
}

/** Milliseconds to wait before retry `attempt` (1 for the first retry). */
export function backoffDelay(
  b: Backoff,
  attempt: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(b.max, b.initial * b.multiplier ** Math.max(0, attempt - 1));
  return base * (1 - b.jitter) + base * b.jitter * random();
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
