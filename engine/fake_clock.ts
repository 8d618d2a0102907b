/** A clock and timers that move only when told: tests of time logic never sleep. */
import type { Clock } from "./types.ts";
import type { Timers } from "./timers.ts";

interface Due {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock, Timers {
  #now: number;
  #seq = 0;
  #due: Due[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): () => void {
    const due = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#due.push(due);
    return () => {
      this.#due = this.#due.filter((d) => d !== due);
    };
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#due.length;
  }

  /** Whether a timer is due now (set while time was moving, by work the move started). */
  get due(): boolean {
    return this.#due.some((d) => d.at <= this.#now);
  }

  /** Moves time forward by `ms`, firing each timer that falls due, in order, at its time. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      this.#due.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#due[0];
      if (!next || next.at > until) break;
      this.#due.shift();
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = until;
  }

  /** Moves time to `t` (never backwards), firing timers on the way. */
  set(t: number): void {
    this.advance(Math.max(0, t - this.#now));
  }
}
