/** `litejoin status`: the engine's health once, as text or JSON, for people and scripts. */
import type { EngineInfo, Health, Stats } from "../engine/client.ts";
import { bytes, count, fit, grouped, millis, uptime } from "../engine/client.ts";
import { dlqSummaryText } from "../engine/client.ts";
import { EXIT, fail } from "./exit.ts";
import { connect, type SocketOptions, socketPath } from "./socket.ts";

export interface StatusOptions extends SocketOptions {
  json?: boolean;
}

export async function status(opts: StatusOptions): Promise<void> {
  let info: EngineInfo, stats: Stats, methods: string[];
  try {
    const client = await connect(await socketPath(opts));
    try {
      [info, stats, methods] = await Promise.all([
        client.request<EngineInfo>("info"),
        client.request<Stats>("stats", { fresh: true }),
        client.request<string[]>("methods"),
      ]);
    } finally {
      client.close();
    }
  } catch (error) {
    fail(error);
  }
  if (opts.json) console.log(JSON.stringify({ info, stats }));
  else console.log(statusText(info, stats, methods.includes("dlq.stats")));
  Deno.exit(stats.status === "fail" ? EXIT.unhealthy : EXIT.ok);
}

const WORD: Record<Health, string> = { ok: "ok", warn: "warn", fail: "FAIL" };

function table(headers: [string, number, "l" | "r"][], rows: string[][]): string[] {
  const line = (cells: string[]) =>
    cells.map((c, i) => fit(c, headers[i][1], headers[i][2] === "r" ? "right" : "left")).join("  ")
      .trimEnd();
  return [line(headers.map((h) => h[0])), ...rows.map(line)];
}

/** The text `litejoin status` prints. */
export function statusText(info: EngineInfo, stats: Stats, dlqEnabled: boolean): string {
  const writes = stats.shards.reduce((n, s) => n + s.writes_per_s, 0);
  const pipeline = [
    ...stats.joins.map((
      j,
    ) => [
      WORD[j.status],
      "join",
      j.name,
      `${count(j.evaluations)} evals`,
      millis(j.p99_ms),
      j.reason,
    ]),
    ...stats.windows.map((
      w,
    ) => [
      WORD[w.status],
      "win",
      w.name,
      `${count(w.evaluations)} evals`,
      millis(w.p99_ms),
      w.reason,
    ]),
    ...stats.sinks.map((
      s,
    ) => [
      WORD[s.status],
      "sink",
      s.name,
      `${count(s.delivered)} sent`,
      millis(s.p99_ms),
      s.reason,
    ]),
  ];
  const name = Math.max(
    4,
    ...stats.topics.map((t) => t.topic.length),
    ...pipeline.map((p) => p[2].length),
  );
  return [
    `litejoin ${info.version} · pid ${info.pid} · up ${
      uptime(stats.uptime_seconds)
    } · http ${info.http} · ` +
    `${info.shard_count} shards · health: ${WORD[stats.status]}`,
    `writes ${count(writes)}/s · backlog ${grouped(stats.backlog)} · DLQ: ${
      dlqSummaryText(stats.dlq, dlqEnabled, stats.at)
    }`,
    "",
    ...table(
      [["SHARD", 5, "l"], ["WRITES/S", 9, "r"], ["COMMIT P99", 10, "r"], ["DB", 8, "r"], [
        "WAL",
        8,
        "r",
      ]],
      stats.shards.map((
        s,
      ) => [
        `s${s.shard}`,
        count(s.writes_per_s),
        millis(s.commit_ms_p99),
        bytes(s.db_bytes),
        bytes(s.wal_bytes),
      ]),
    ),
    "",
    ...table(
      [["TOPIC", name, "l"], ["ROWS", 12, "r"], ["BYTES", 8, "r"], ["MSG/S", 8, "r"]],
      stats.topics.map((t) => [t.topic, grouped(t.rows), bytes(t.bytes), count(t.rate_per_s)]),
    ),
    ...(pipeline.length
      ? [
        "",
        ...table(
          [["HEALTH", 6, "l"], ["KIND", 4, "l"], ["NAME", name, "l"], ["ACTIVITY", 11, "r"], [
            "P99",
            6,
            "r",
          ], ["REASON", 60, "l"]],
          pipeline,
        ),
      ]
      : []),
  ].join("\n");
}
