/** The first view: shard throughput, topic sizes, pipeline health and the DLQ, in one screen. */
import { Box, Text } from "ink";
import type { Stats } from "../engine/client.ts";
import { ShardsPanel } from "./shards_panel.tsx";
import { TopicsPanel } from "./topics_panel.tsx";
import { PipelinePanel } from "./pipeline_panel.tsx";
import { DlqLine } from "./dlq_line.tsx";

export interface DashboardProps {
  stats: Stats | null;
  dlqEnabled: boolean;
  filter: string;
  width: number;
  height: number;
}

/**
 * Shares `budget` lines among sections that want `wants` lines each (their header
 * included): every section gets at least its header and one line, then lines go one
 * at a time to the sections still short of what they want.
 */
export function allocate(wants: number[], budget: number): number[] {
  const given = wants.map((w) => Math.min(w, 2));
  let left = budget - given.reduce((n, g) => n + g, 0);
  while (left > 0) {
    let gave = false;
    for (let i = 0; i < wants.length && left > 0; i++) {
      if (given[i] < wants[i]) {
        given[i]++;
        left--;
        gave = true;
      }
    }
    if (!gave) break;
  }
  return given;
}

const matches = (filter: string, name: string) =>
  !filter || name.toLowerCase().includes(filter.toLowerCase());

export function Dashboard({ stats, dlqEnabled, filter, width, height }: DashboardProps) {
  if (!stats) {
    return (
      <Box height={height}>
        <Text dimColor>waiting for the first stats from the engine…</Text>
      </Box>
    );
  }
  const topics = stats.topics.filter((t) => matches(filter, t.topic));
  const joins = stats.joins.filter((j) => matches(filter, j.name));
  const windows = stats.windows.filter((w) => matches(filter, w.name));
  const sinks = stats.sinks.filter((s) => matches(filter, s.name));
  const pipeline = joins.length + windows.length + sinks.length;
  // Three tables (header + rows, at least one line for "none"), blank lines between, the DLQ line.
  const wants = [
    1 + stats.shards.length,
    1 + Math.max(1, topics.length),
    1 + Math.max(1, pipeline),
  ];
  const gap = wants.reduce((n, w) => n + w, 0) + 4 <= height;
  const [shardLines, topicLines, pipelineLines] = allocate(
    wants,
    Math.max(6, height - 3 - (gap ? 1 : 0)),
  );
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      <ShardsPanel shards={stats.shards} width={width} height={shardLines} />
      <Box height={1} />
      <TopicsPanel topics={topics} width={width} height={topicLines} filter={filter} />
      {gap && <Box height={1} />}
      <PipelinePanel
        joins={joins}
        windows={windows}
        sinks={sinks}
        width={width}
        height={pipelineLines}
        filter={filter}
      />
      <Box height={1} />
      <DlqLine dlq={stats.dlq} enabled={dlqEnabled} now={stats.at} width={width} />
    </Box>
  );
}
