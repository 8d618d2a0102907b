/** Per topic: rows stored, bytes on disk, messages per second and written since start. */
import type { TopicStats } from "../engine/client.ts";
import { bytes, count, grouped } from "../engine/client.ts";
import { layout, Table } from "./table.tsx";

export interface TopicsPanelProps {
  topics: TopicStats[];
  width: number;
  height: number;
  filter: string;
}

export function TopicsPanel({ topics, width, height, filter }: TopicsPanelProps) {
  const columns = layout([
    { title: "TOPIC", width: 0 },
    { title: "ROWS", width: 12, align: "right" },
    { title: "BYTES", width: 8, align: "right" },
    { title: "MSG/S", width: 8, align: "right" },
    { title: "WRITTEN", width: 9, align: "right" },
  ], width);
  const rows = topics.map((t) => [
    t.topic,
    grouped(t.rows),
    bytes(t.bytes),
    count(t.rate_per_s),
    count(t.written),
  ]);
  return (
    <Table
      columns={columns}
      rows={rows}
      height={height}
      empty={filter ? `no topic matches "${filter}"` : "no topics"}
    />
  );
}
