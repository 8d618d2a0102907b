/** Per shard: a sparkline of writes per second, the rate now, commit latency and file sizes. */
import type { ShardStats } from "../engine/client.ts";
import { bytes, count, millis, sparkline } from "../engine/client.ts";
import { layout, Table } from "./table.tsx";

export interface ShardsPanelProps {
  shards: ShardStats[];
  width: number;
  height: number;
}

export function ShardsPanel({ shards, width, height }: ShardsPanelProps) {
  const columns = layout([
    { title: "SHARD", width: 5 },
    { title: "WRITES/S, LAST MINUTE", width: 0 },
    { title: "NOW/S", width: 7, align: "right" },
    { title: "COMMIT P99", width: 10, align: "right" },
    { title: "DB", width: 8, align: "right" },
    { title: "WAL", width: 8, align: "right" },
  ], width);
  const spark = columns[1].width;
  const rows = shards.map((s) => [
    `s${s.shard}`,
    { text: sparkline(s.history, spark), color: "cyan" },
    count(s.writes_per_s),
    millis(s.commit_ms_p99),
    bytes(s.db_bytes),
    bytes(s.wal_bytes),
  ]);
  return <Table columns={columns} rows={rows} height={height} empty="no shards reported yet" />;
}
