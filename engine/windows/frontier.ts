/**
 * How far windows may close at a given wall-clock time. With ingest time (the message
 * timestamp), that is the wall clock itself. With an event time from the payload, it
 * is the watermark: the latest event time seen, moving on with the wall clock from
 * the moment it was seen, so a quiet stream still closes its windows.
 */
import type { Watermark } from "./progress.ts";

export class Frontier {
  watermark: Watermark | undefined;

  constructor(readonly ingestTime: boolean) {}

  /** An event at `time` was seen at wall-clock `now`. */
  observe(time: number, now: number): void {
    if (this.ingestTime) return;
    if (!this.watermark || time > this.#watermarkAt(now)) this.watermark = { time, wall: now };
  }

  /** The frontier at wall-clock `now`. */
  at(now: number): number {
    return this.ingestTime ? now : this.#watermarkAt(now);
  }

  /** The wall-clock time at which the frontier reaches `due`, if it is known yet. */
  wallOf(due: number): number | undefined {
    if (this.ingestTime) return due;
    const w = this.watermark;
    return w ? w.wall + (due - w.time) : undefined;
  }

  #watermarkAt(now: number): number {
    const w = this.watermark;
    return w ? w.time + (now - w.wall) : -Infinity;
  }
}
