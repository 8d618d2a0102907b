/** Numbers, sizes, durations and text fitted to columns: how the console and `litejoin status` write figures. */

/** 950, 1.2k, 34k, 1.5M. */
export function count(n: number): string {
  const abs = Math.abs(n);
  if (abs < 1000) return String(Math.round(n * 10) / 10);
  if (abs < 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (abs < 1_000_000) return `${Math.round(n / 1000)}k`;
  if (abs < 10_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  if (abs < 1_000_000_000) return `${Math.round(n / 1_000_000)}M`;
  return `${(n / 1_000_000_000).toFixed(1)}G`;
}

/** 12,345,678: exact counts. */
export function grouped(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** 512 B, 4.0 KB, 12 MB, 1.3 GB (powers of 1024). */
export function bytes(n: number | null): string {
  if (n === null) return "…";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${value} B`
    : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** 0.4ms, 12ms, 2.5s. */
export function millis(ms: number): string {
  if (ms === 0) return "-";
  if (ms < 1) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}

/** 45s, 12m, 3h, 2d: how long ago or how long. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** 3m 12s, 2h 5m, 4d 1h: an uptime. */
export function uptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor(seconds % 86_400 / 3600);
  const m = Math.floor(seconds % 3600 / 60);
  const s = Math.floor(seconds % 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

/** 14:03:22.120 in local time. */
export function clockTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${
    String(d.getMilliseconds()).padStart(3, "0")
  }`;
}

/** `text` on one line, cut with "…" or padded to exactly `width` columns. */
export function fit(text: string, width: number, align: "left" | "right" = "left"): string {
  if (width <= 0) return "";
  const line = text.replace(/[\r\n\t]+/g, " ");
  if (line.length > width) return width === 1 ? "…" : line.slice(0, width - 1) + "…";
  return align === "right" ? line.padStart(width) : line.padEnd(width);
}

const BARS = "▁▂▃▄▅▆▇█";

/** The last `width` values as bars scaled to their maximum; blanks before the first value. */
export function sparkline(values: readonly number[], width: number): string {
  const shown = values.slice(-width);
  const max = Math.max(0, ...shown);
  const bars = shown.map((v) =>
    max === 0
      ? BARS[0]
      : BARS[Math.min(BARS.length - 1, Math.floor(v / max * (BARS.length - 1) + 0.5))]
  ).join("");
  return bars.padStart(width);
}

/** A cell of a query result as text: NULL, numbers as they are, JSON for the rest. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** Compact JSON of a stored payload (JSON text), or the text itself if it is not JSON. */
export function compactJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}
