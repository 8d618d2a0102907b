/** The dead-letter queue: waiting entries per sink, each replayable or purgeable (asked first). */
import { Box, Text } from "ink";
import type { DlqEntry, DlqSummary } from "../engine/client.ts";
import { age, compactJson, fit } from "../engine/client.ts";
import { type Cell, layout, Table } from "./table.tsx";
import { dlqSummaryText } from "../engine/client.ts";
import { wrap } from "./sql_view.tsx";

export interface DlqViewProps {
  enabled: boolean;
  summary: DlqSummary | null;
  entries: DlqEntry[];
  loaded: boolean;
  status: string;
  selected: number;
  detail: boolean;
  error: string;
  filter: string;
  now: number;
  width: number;
  height: number;
}

const STATUS_COLOR: Record<string, string> = {
  dead: "red",
  retrying: "yellow",
  delivered: "green",
};

export function DlqView(props: DlqViewProps) {
  const { enabled, width, height } = props;
  if (!enabled) {
    return (
      <Box flexDirection="column" height={height}>
        <Text bold>DLQ not enabled</Text>
        <Text wrap="wrap">
          This engine does not serve the dead-letter queue (no dlq.stats method): results that fail
          delivery after every retry are logged and counted, not kept. Turn it on with dlq:
          {" { enabled: true }"} in the config.
        </Text>
      </Box>
    );
  }
  const selected = props.entries[Math.min(props.selected, props.entries.length - 1)];
  const title = `DLQ · ${dlqSummaryText(props.summary, true, props.now)}`;
  const showing = `showing ${props.status || "all"} entries (s changes)${
    props.filter ? ` matching "${props.filter}"` : ""
  }`;
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      <Text bold color="cyan" wrap="truncate">{fit(title, width)}</Text>
      <Text dimColor wrap="truncate">{fit(showing, width)}</Text>
      {props.error && <Text color="red" wrap="truncate">{fit(`error: ${props.error}`, width)}
      </Text>}
      {props.detail && selected
        ? <EntryDetail entry={selected} now={props.now} width={width} height={height - 2} />
        : (
          <Table
            columns={layout([
              { title: "ID", width: 6, align: "right" },
              { title: "SINK", width: 12 },
              { title: "STATUS", width: 9 },
              { title: "TRIES", width: 5, align: "right" },
              { title: "FAILED", width: 7, align: "right" },
              { title: "KEY", width: 12 },
              { title: "ERROR", width: 0 },
            ], width)}
            rows={props.entries.map((e): Cell[] => [
              String(e.id),
              e.sink ?? { text: `(${e.source})`, dim: true },
              { text: e.status, color: STATUS_COLOR[e.status] },
              String(e.attempts),
              age(props.now - e.last_failed_at),
              e.key ?? "",
              e.error,
            ])}
            selected={props.selected}
            height={height - 2 - (props.error ? 1 : 0)}
            empty={props.loaded ? "no entries" : "loading…"}
          />
        )}
    </Box>
  );
}

function EntryDetail(
  { entry, now, width, height }: { entry: DlqEntry; now: number; width: number; height: number },
) {
  const payload = typeof entry.payload === "string"
    ? compactJson(entry.payload)
    : JSON.stringify(entry.payload);
  const status = entry.superseded ? `${entry.status} (superseded)` : entry.status;
  const lines = [
    entry.sink === null
      ? `entry ${entry.id} · input rejected by source ${entry.source} · ${status}`
      : `entry ${entry.id} · sink ${entry.sink} · from ${entry.source} · ${status}`,
    `key ${entry.key ?? "-"} · ${entry.attempts} attempts · first failed ${
      age(now - entry.first_failed_at)
    } ago, last ${age(now - entry.last_failed_at)} ago` +
    (entry.next_attempt_at ? ` · next try in ${age(entry.next_attempt_at - now)}` : ""),
    ...wrap(`error: ${entry.error}`, width),
    ...wrap(`payload: ${payload}`, width),
  ];
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      {lines.slice(0, height - 1).map((l, i) => <Text key={i} wrap="truncate">{l}</Text>)}
      <Text dimColor>r replay · x purge · Enter or Esc closes</Text>
    </Box>
  );
}
