/**
 * Wall-clock timers, injected beside the `Clock`: windows close on time even when no
 * event arrives, and tests move time by hand instead of sleeping.
 */
export interface Timers {
  /** Calls `fn` once, `ms` milliseconds from now; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** The longest single wait; a timer for later wakes up and sets itself again. */
export const MAX_TIMER_MS = 3_600_000;

export const systemTimers: Timers = {
  after(ms, fn) {
    const id = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    return () => clearTimeout(id);
  },
};
