/**
 * Counters, gauges and histograms with labels, rendered in the Prometheus text format
 * and read as plain numbers by the control socket.
 */

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return keys.sort().map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",");
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

abstract class Metric {
  constructor(readonly name: string, readonly help: string, readonly type: string) {}
  abstract render(): string[];
}

/** A counter with its labels fixed, for hot paths: no label work per increment. */
export interface BoundCounter {
  inc(by?: number): void;
}

export class Counter extends Metric {
  readonly values = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  bind(labels: Labels): BoundCounter {
    const key = labelKey(labels);
    if (!this.values.has(key)) this.values.set(key, 0);
    return { inc: (by = 1) => this.values.set(key, this.values.get(key)! + by) };
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ""} ${v}`);
  }
}

export class Gauge extends Metric {
  readonly values = new Map<string, number>();
  readonly #collectors: (() => void)[] = [];
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), value);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  /** Refreshes the gauge from `fn` each time it is read. */
  collect(fn: () => void): void {
    this.#collectors.push(fn);
  }
  refresh(): void {
    for (const fn of this.#collectors) fn();
  }
  render(): string[] {
    this.refresh();
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ""} ${v}`);
  }
}

/** Latency buckets in seconds, from 0.5 ms to 30 s. */
export const LATENCY_BUCKETS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

interface Series {
  counts: number[];
  sum: number;
  count: number;
  last: number;
}

export class Histogram extends Metric {
  readonly series = new Map<string, Series>();
  constructor(name: string, help: string, readonly buckets = LATENCY_BUCKETS) {
    super(name, help, "histogram");
  }
  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0, last: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.counts[i]++;
    s.sum += value;
    s.count++;
    s.last = value;
  }
  /** The upper bound of the bucket holding quantile `q` (0..1), or 0 with no observations. */
  quantile(labels: Labels, q: number): number {
    const s = this.series.get(labelKey(labels));
    if (!s || s.count === 0) return 0;
    const rank = q * s.count;
    for (let i = 0; i < this.buckets.length; i++) if (s.counts[i] >= rank) return this.buckets[i];
    return Infinity;
  }
  /** A copy of the cumulative bucket counts (values at or below each bound) for `labels`. */
  counts(labels: Labels = {}): number[] {
    return [...(this.series.get(labelKey(labels))?.counts ?? this.buckets.map(() => 0))];
  }
  stats(labels: Labels = {}): { count: number; sum: number; last: number } {
    const s = this.series.get(labelKey(labels));
    return { count: s?.count ?? 0, sum: s?.sum ?? 0, last: s?.last ?? 0 };
  }
  render(): string[] {
    const lines: string[] = [];
    for (const [key, s] of this.series) {
      const sep = key ? "," : "";
      this.buckets.forEach((b, i) =>
        lines.push(`${this.name}_bucket{${key}${sep}le="${b}"} ${s.counts[i]}`)
      );
      lines.push(`${this.name}_bucket{${key}${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${key ? `{${key}}` : ""} ${s.sum}`);
      lines.push(`${this.name}_count${key ? `{${key}}` : ""} ${s.count}`);
    }
    return lines;
  }
}

/**
 * The upper bound of the bucket holding quantile `q` (0..1) of `count` observations,
 * given cumulative bucket counts (e.g. the difference of two `counts()` snapshots).
 * 0 with no observations; Infinity beyond the last bound.
 */
export function bucketQuantile(
  bounds: readonly number[],
  counts: readonly number[],
  count: number,
  q: number,
): number {
  if (count <= 0) return 0;
  const rank = q * count;
  for (let i = 0; i < bounds.length; i++) if (counts[i] >= rank) return bounds[i];
  return Infinity;
}

/** Every metric of one engine. Asking twice for a name returns the same metric. */
export class Metrics {
  readonly #metrics = new Map<string, Metric>();

  counter(name: string, help: string): Counter {
    return this.#get(name, () => new Counter(name, help), Counter);
  }
  gauge(name: string, help: string): Gauge {
    return this.#get(name, () => new Gauge(name, help), Gauge);
  }
  histogram(name: string, help: string, buckets?: number[]): Histogram {
    return this.#get(name, () => new Histogram(name, help, buckets), Histogram);
  }

  #get<M extends Metric>(name: string, make: () => M, kind: abstract new (...a: never[]) => M): M {
    const found = this.#metrics.get(name);
    if (found) {
      if (!(found instanceof kind)) throw new TypeError(`metric ${name} exists with another type`);
      return found;
    }
    const metric = make();
    this.#metrics.set(name, metric);
    return metric;
  }

  /** The Prometheus text exposition of every metric. */
  render(): string {
    const out: string[] = [];
    for (const metric of this.#metrics.values()) {
      const lines = metric.render();
      if (lines.length === 0) continue;
      out.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`);
      out.push(...lines);
    }
    return out.join("\n") + "\n";
  }
}
