/**
 * Samples taken once per stats interval and kept for the last `size` intervals, so that
 * "in the last minute" figures come from two cumulative readings instead of a log of
 * events.
 */
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
