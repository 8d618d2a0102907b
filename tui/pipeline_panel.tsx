/**
 * Joins, windows and sinks, each green, amber or red with the reason; for a join, its lag
 * (how long the oldest change not yet delivered has waited; "-" when none waits).
 */
import type { JoinStats, SinkStats, WindowStats } from "../engine/client.ts";
import { age, count, millis } from "../engine/client.ts";
import { healthCell } from "./health_cell.ts";
import { type Cell, layout, Table } from "./table.tsx";

export interface PipelinePanelProps {
  joins: JoinStats[];
  windows: WindowStats[];
  sinks: SinkStats[];
  width: number;
  height: number;
  filter: string;
}

export function PipelinePanel(
  { joins, windows, sinks, width, height, filter }: PipelinePanelProps,
) {
  const longest = Math.max(0, ...[...joins, ...windows, ...sinks].map((c) => c.name.length));
  const columns = layout([
    { title: "HEALTH", width: 6 },
    { title: "KIND", width: 4 },
    { title: "NAME", width: Math.max(8, Math.min(20, longest)) },
    { title: "ACTIVITY", width: 11, align: "right" },
    { title: "P99", width: 6, align: "right" },
    { title: "LAG", width: 5, align: "right" },
    { title: "REASON", width: 0 },
  ], width);
  const rows: Cell[][] = [
    ...joins.map((j) => [
      healthCell(j.status),
      "join",
      j.name,
      `${count(j.evaluations)} evals`,
      millis(j.p99_ms),
      j.lag_ms < 60_000 ? millis(j.lag_ms) : age(j.lag_ms),
      reason(j.status, j.reason),
    ]),
    ...windows.map((w) => [
      healthCell(w.status),
      "win",
      w.name,
      `${count(w.evaluations)} evals`,
      millis(w.p99_ms),
      "",
      reason(w.status, w.reason),
    ]),
    ...sinks.map((s) => [
      healthCell(s.status),
      "sink",
      s.name,
      `${count(s.delivered)} sent`,
      millis(s.p99_ms),
      "",
      reason(s.status, s.reason),
    ]),
  ];
  return (
    <Table
      columns={columns}
      rows={rows}
      height={height}
      empty={filter ? `nothing matches "${filter}"` : "no joins, windows or sinks"}
    />
  );
}

function reason(status: string, text: string): Cell {
  return status === "ok" ? { text, dim: true } : text;
}
