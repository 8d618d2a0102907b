/**
 * Names of tier files. One Parquet file holds one topic's rows of one time partition:
 * `<topic>/<topic>-<start>-<width>.parquet`, e.g. `orders/orders-20261121T130000Z-1h.parquet`.
 * The name depends only on the partition, so compacting the same partition again adds
 * to the same file. A partition whose file has already gone cold gets the next
 * generation, `orders-20261121T130000Z-1h.1.parquet`, so a cold object is never
 * overwritten. Names sort by time; the same names are used in the cold tier.
 */

export interface TierFile {
  topic: string;
  /** Partition start, Unix ms. */
  start: number;
  /** Partition width, ms. */
  width: number;
  generation: number;
  /** `<topic>/<file name>`: the path under the warm directory and the cold prefix. */
  path: string;
}

const UNITS: [string, number][] = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], [
  "s",
  1000,
], ["ms", 1]];

/** `5400000` → `1h30m`: the shortest duration text that parses back to `ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  let rest = Math.round(ms);
  let out = "";
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

function parseDurationText(text: string): number | undefined {
  const part = /(\d+)(ms|d|h|m|s)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    part.lastIndex = pos;
    const match = part.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * UNITS.find(([u]) => u === match[2])![1];
    pos = part.lastIndex;
  }
  return pos ? total : undefined;
}

/** `20261121T130000Z`, with `.123` before the Z when the time has milliseconds. */
function stamp(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-11-21T13:00:00.000Z
  const millis = iso.slice(20, 23);
  return iso.slice(0, 19).replace(/[-:]/g, "") + (millis === "000" ? "" : `.${millis}`) + "Z";
}

function parseStamp(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d{3}))?Z$/.exec(text);
  if (!m) return undefined;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +(m[7] ?? 0));
}

/** The start of the partition holding `timestamp`. */
export function partitionStart(timestamp: number, width: number): number {
  return Math.floor(timestamp / width) * width;
}

export function tierFile(topic: string, start: number, width: number, generation = 0): TierFile {
  const name = `${topic}-${stamp(start)}-${formatDuration(width)}${
    generation ? `.${generation}` : ""
  }.parquet`;
  return { topic, start, width, generation, path: `${topic}/${name}` };
}

/** The file a `<topic>/<name>` path names, or undefined for anything else. */
export function parseTierPath(path: string): TierFile | undefined {
  const m = /^([a-z_][a-z0-9_]*)\/([a-z_][a-z0-9_]*)-([0-9TZ.]+)-([0-9a-z]+)(?:\.(\d+))?\.parquet$/
    .exec(path);
  if (!m || m[1] !== m[2]) return undefined;
  const start = parseStamp(m[3]);
  const width = parseDurationText(m[4]);
  if (start === undefined || !width) return undefined;
  const file = tierFile(m[1], start, width, Number(m[5] ?? 0));
  return file.path === path ? file : undefined;
}

/** Where a file is written before it is complete; never read. */
export function tempPath(finalPath: string, suffix: "parquet" | "ndjson"): string {
  const slash = finalPath.lastIndexOf("/");
  return `${finalPath.slice(0, slash + 1)}.${finalPath.slice(slash + 1)}.${suffix}.tmp`;
}

/** Whether a file name in a tier directory is a leftover temporary file. */
export function isTemp(name: string): boolean {
  return name.startsWith(".") && name.endsWith(".tmp");
}
