/** How `litejoin dlq` shows the queue to people: tables, one entry, a progress bar. */
import type { DlqEntry as Entry, DlqStats as Stats } from "../engine/mod.ts";

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `12s ago`, `5m ago`, `in 3s`, or `-`. */
export function ago(at: number | null, now: number): string {
  if (at === null) return "-";
  const d = Math.abs(now - at) / 1000;
  const units: [number, string][] = [[1, "s"], [60, "m"], [3600, "h"], [86400, "d"]];
  let text = "";
  for (const [i, [size, unit]] of units.entries()) {
    const n = Math.round(d / size);
    const next = units[i + 1];
    if (!next || n < next[0] / size) {
      text = `${n}${unit}`;
      break;
    }
  }
  return at <= now ? `${text} ago` : `in ${text}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > max ? flat.slice(0, max - 1) + "…" : flat;
}

export function formatStats(stats: Stats, now = Date.now()): string {
  const sinks = Object.entries(stats.by_sink);
  const out = [
    sinks.length
      ? table(
        ["SINK", "RETRYING", "DEAD", "DELIVERED", "OLDEST UNDELIVERED"],
        sinks.map(([name, s]) => [
          name,
          String(s.retrying),
          String(s.dead),
          String(s.delivered),
          ago(s.oldest_failed_at, now),
        ]),
      )
      : "no sinks",
  ];
  const rejected = Object.entries(stats.rejected);
  if (rejected.length) {
    out.push("", table(["SOURCE", "REJECTED INPUTS"], rejected.map(([s, n]) => [s, String(n)])));
  }
  out.push("", `${plural(stats.total, "entry needs", "entries need")} attention`);
  return out.join("\n");
}

export function formatList(entries: Entry[], now: number): string {
  if (entries.length === 0) return "no entries";
  return table(
    ["ID", "STATUS", "SINK", "SOURCE", "KEY", "ATTEMPTS", "LAST FAILED", "NEXT", "ERROR"],
    entries.map((e) => [
      String(e.id),
      e.superseded ? "delivered*" : e.status,
      e.sink ?? "-",
      e.source,
      oneLine(e.key ?? "-", 32),
      String(e.attempts),
      ago(e.last_failed_at, now),
      ago(e.next_attempt_at, now),
      oneLine(e.error, 80),
    ]),
  ) + (entries.some((e) => e.superseded) ? "\n* superseded by a newer result for its key" : "");
}

export function formatEntry(e: Entry, now: number): string {
  const time = (t: number | null) =>
    t === null ? "-" : `${new Date(t).toISOString()} (${ago(t, now)})`;
  const fields: [string, string][] = [
    ["id", String(e.id)],
    ["status", e.superseded ? "delivered (superseded by a newer result for its key)" : e.status],
    ["sink", e.sink ?? "- (an input rejected by its source)"],
    ["source", e.source],
    ["key", e.key ?? "-"],
    ["attempts", String(e.attempts)],
    ["first failed", time(e.first_failed_at)],
    ["last failed", time(e.last_failed_at)],
    ["next attempt", time(e.next_attempt_at)],
  ];
  if (e.delivered_at !== null) fields.push(["delivered", time(e.delivered_at)]);
  fields.push(["error", e.error]);
  return fields.map(([k, v]) => `${(k + ":").padEnd(14)}${v}`).join("\n") +
    `\npayload:\n${JSON.stringify(e.payload, null, 2)}`;
}
