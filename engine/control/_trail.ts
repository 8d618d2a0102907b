/**
 * Samples taken once per stats interval and kept for the last `size` intervals, so that
 * "in the last minute" figures come from two cumulative readings instead of a log of
 * events.
 */
import { bucketQuantile } from "../metrics.ts";

export class Trail {
  readonly #samples = new Map<string, number[][]>();

  constructor(readonly size: number) {}

  /** Records the cumulative `values` of `key` now. */
  push(key: string, values: number[]): void {
    let samples = this.#samples.get(key);
    if (!samples) this.#samples.set(key, samples = []);
    samples.push(values);
    if (samples.length > this.size + 1) samples.shift();
  }

  /** Newest minus oldest sample of `key`, element by element (zeros when unknown). */
  change(key: string, width = 1): number[] {
    const samples = this.#samples.get(key);
    if (!samples || samples.length === 0) return new Array(width).fill(0);
    const first = samples[0];
    const last = samples[samples.length - 1];
    return last.map((v, i) => v - (first[i] ?? 0));
  }

  /** Newest minus the sample before it (zeros with fewer than two samples). */
  step(key: string, width = 1): number[] {
    const samples = this.#samples.get(key);
    if (!samples || samples.length < 2) return new Array(width).fill(0);
    const prev = samples[samples.length - 2];
    return samples[samples.length - 1].map((v, i) => v - (prev[i] ?? 0));
  }
}

/** Seconds as milliseconds, to two decimals. */
export function ms(seconds: number): number {
  return Math.round(seconds * 1000 * 100) / 100;
}

/** [count, ...cumulative bucket counts] of one histogram series. */
export function histogramSample(
  histogram: {
    counts(l: Record<string, string>): number[];
    stats(l: Record<string, string>): { count: number };
  },
  labels: Record<string, string>,
): number[] {
  return [histogram.stats(labels).count, ...histogram.counts(labels)];
}

/** p99 in ms over the trail's window of a histogram sample change ([count, ...counts]). */
export function recentP99(change: number[], buckets: readonly number[]): number {
  const [count, ...counts] = change;
  const p99 = bucketQuantile(buckets, counts, count ?? 0, 0.99);
  return Number.isFinite(p99) ? ms(p99) : ms(buckets[buckets.length - 1]);
}
