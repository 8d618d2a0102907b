/** Tail: pick a topic, then watch its newest messages; Enter shows one in full. */
import { Box, Text } from "ink";
import { useMemo } from "react";
import type { TailMessage, TailResult, TopicStats } from "../engine/client.ts";
import { clockTime, compactJson, count, fit, grouped } from "../engine/client.ts";
import { layout, Table } from "./table.tsx";
import { wrap } from "./sql_view.tsx";

export interface TailViewProps {
  topics: string[];
  topicStats: TopicStats[];
  topic: string | null;
  data: TailResult | null;
  messages: TailMessage[];
  error: string;
  selected: number;
  paused: boolean;
  detail: boolean;
  filter: string;
  width: number;
  height: number;
}

export function TailView(props: TailViewProps) {
  const { topic, width, height, messages } = props;
  const rows = useMemo(
    () => messages.map((m) => [clockTime(m.timestamp), m.key, compactJson(m.payload)]),
    [messages],
  );
  if (topic === null) return <TopicList {...props} />;
  const stats = props.topicStats.find((t) => t.topic === topic);
  const title = [
    `TAIL ${topic}`,
    stats ? `${grouped(stats.rows)} rows` : "",
    stats ? `${count(stats.rate_per_s)} msg/s` : "",
    `newest ${props.data?.messages.length ?? 0}`,
    props.paused ? "PAUSED (p resumes)" : "refreshing every second",
  ].filter(Boolean).join(" · ");
  const selected = props.messages[Math.min(props.selected, props.messages.length - 1)];
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      <Text bold color={props.paused ? "yellow" : "cyan"} wrap="truncate">{fit(title, width)}</Text>
      {props.error
        ? <Text color="red" wrap="truncate">{fit(`error: ${props.error}`, width)}</Text>
        : null}
      {props.detail && selected
        ? <MessageDetail message={selected} width={width} height={height - 1} />
        : (
          <Table
            columns={layout([
              { title: "TIME", width: 12 },
              { title: "KEY", width: Math.min(24, Math.max(8, Math.floor(width / 5))) },
              { title: "PAYLOAD", width: 0 },
            ], width)}
            rows={rows}
            selected={props.selected}
            height={height - 1 - (props.error ? 1 : 0)}
            empty={props.data
              ? props.filter ? `no message matches "${props.filter}"` : "the topic is empty"
              : "loading…"}
          />
        )}
    </Box>
  );
}

function TopicList({ topics, topicStats, selected, filter, width, height }: TailViewProps) {
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      <Text bold color="cyan">Choose a topic to tail (↑↓, Enter)</Text>
      <Table
        columns={layout([
          { title: "TOPIC", width: 0 },
          { title: "ROWS", width: 12, align: "right" },
          { title: "MSG/S", width: 8, align: "right" },
        ], width)}
        rows={topics.map((name) => {
          const s = topicStats.find((t) => t.topic === name);
          return [name, s ? grouped(s.rows) : "", s ? count(s.rate_per_s) : ""];
        })}
        selected={selected}
        height={height - 1}
        empty={filter ? `no topic matches "${filter}"` : "the engine has no topics"}
      />
    </Box>
  );
}

function MessageDetail(
  { message, width, height }: { message: TailMessage; width: number; height: number },
) {
  let pretty = message.payload;
  try {
    pretty = JSON.stringify(JSON.parse(message.payload), null, 2);
  } catch { /* shown as stored */ }
  const lines = [
    `key        ${message.key}`,
    `timestamp  ${new Date(message.timestamp).toISOString()} (${message.timestamp})`,
    `shard      ${message.shard}`,
    ...(message.change ? [`_change    ${message.change}`] : []),
    "payload",
    ...wrap(pretty, Math.max(1, width - 2)).map((l) => "  " + l),
  ];
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      {lines.slice(0, height - 1).map((line, i) => <Text key={i} wrap="truncate">{line}</Text>)}
      <Text dimColor>Enter or Esc closes</Text>
    </Box>
  );
}
