/**
 * What the soak and the fault drills read off a running engine process: its memory
 * from /proc, its Prometheus metrics, and small statistics over samples.
 */

/** Memory of a process in MiB, from `/proc/<pid>/status`. */
export interface ProcessMemory {
  /** Resident set: anonymous + file-mapped + shared memory. */
  rss: number;
  /** Anonymous memory only (heaps, SQLite caches): what a leak grows. */
  anon: number;
  /** File-mapped pages (the shard files readers map), reclaimable by the kernel. */
  file: number;
}

/** Reads `/proc/<pid>/status`; undefined once the process is gone. */
export async function processMemory(pid: number): Promise<ProcessMemory | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(`/proc/${pid}/status`);
  } catch {
    return undefined;
  }
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text)?.[1]);
  const mib = (field: string) => kib(field) / 1024;
  return { rss: mib("VmRSS"), anon: mib("RssAnon"), file: mib("RssFile") };
}

/** Prometheus text as a map of series (`name{labels}`) to value. */
export type Series = Map<string, number>;

/** Fetches `<url>/metrics`; an empty map if the engine does not answer. */
export async function metrics(url: string): Promise<Series> {
  const series: Series = new Map();
  try {
    const response = await fetch(`${url}/metrics`);
    for (const line of (await response.text()).split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const space = line.lastIndexOf(" ");
      series.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
  } catch {
    // the engine is down; the caller sees no series
  }
  return series;
}

/** The sum of every series of metric `name` whose labels include each of `labels`. */
export function total(series: Series, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, value] of series) {
    if (key !== name && !key.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) sum += value;
  }
  return sum;
}

/** The `q` quantile (0..1) of `values` (sorted here), or NaN when there are none. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Least-squares slope of `ys` against `xs`. */
export function slope(xs: number[], ys: number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Total size in MiB of the files directly in `dir` (the data directory is flat). */
export function dirMiB(dir: string): number {
  let bytes = 0;
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isFile) bytes += Deno.statSync(`${dir}/${entry.name}`).size;
    }
  } catch {
    // not there yet
  }
  return bytes / 1024 / 1024;
}

/** A fixed-width text table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  return cells.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd())
    .join("\n");
}
