/** Two lines: which engine and whether it answers; the views and the overall health. */
import { Box, Text } from "ink";
import type { EngineInfo, Health } from "../engine/client.ts";
import type { Connection } from "./link.ts";
import { fit, uptime } from "../engine/client.ts";
import { healthCell } from "./health_cell.ts";
import { type View, VIEW_TITLES, VIEWS } from "./state.ts";

export interface HeaderProps {
  info: EngineInfo | null;
  connection: Connection;
  /** Why the engine is down, when it is. */
  reason: string;
  uptimeSeconds: number;
  view: View;
  status: Health | null;
  filter: string;
  width: number;
}

function connectionText(connection: Connection): { text: string; color: string } {
  switch (connection) {
    case "connected":
      return { text: "● connected", color: "green" };
    case "connecting":
      return { text: "○ connecting…", color: "yellow" };
    case "down":
      return { text: "✕ engine down, retrying", color: "red" };
  }
}

export function Header(props: HeaderProps) {
  const { info, connection, reason, view, status, filter, width } = props;
  const conn = connectionText(connection);
  const engine = info
    ? `LiteJoin ${info.version} · pid ${info.pid} · up ${
      uptime(props.uptimeSeconds)
    } · ${info.http} · ${info.shard_count} shards`
    : "LiteJoin";
  const title = connection === "down" && reason
    ? `LiteJoin${info ? ` ${info.version}` : ""} · ${reason}`
    : engine;
  const tabs = VIEWS.map((v, i) => ({ v, label: ` ${i + 1} ${VIEW_TITLES[v]} ` }));
  const tabsWidth = tabs.reduce((n, t) => n + t.label.length + 2, 0);
  const health = status ? healthCell(status) : null;
  const healthText = health && typeof health !== "string" ? `health ${health.text}` : "";
  const middle = Math.max(0, width - tabsWidth - healthText.length);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Text bold color="cyan">{fit(title, Math.max(1, width - conn.text.length - 1))}</Text>{" "}
        <Text color={conn.color}>{conn.text}</Text>
      </Text>
      <Text wrap="truncate">
        {tabs.map(({ v, label }) => (
          <Text key={v} inverse={v === view} bold={v === view}>
            {v === view ? `[${label}]` : ` ${label} `}
          </Text>
        ))}
        <Text dimColor>{fit(filter ? ` filter: ${filter}` : "", middle)}</Text>
        {health && typeof health !== "string" && (
          <Text>
            {"health "}
            <Text color={health.color}>{health.text}</Text>
          </Text>
        )}
      </Text>
    </Box>
  );
}
