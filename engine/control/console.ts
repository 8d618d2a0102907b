/**
 * The control methods the console and `litejoin status` use, beyond `info` and
 * `config`: the `stats` stream, read-only `sql` (and `sql.cancel`), and `tail`.
 */
import type { EngineView } from "./engine_view.ts";
import type { ControlServer } from "./server.ts";
import { StatsCollector } from "./stats.ts";
import { SqlPool } from "./sql_runner.ts";
import { serveSql } from "./sql.ts";
import { serveTail } from "./tail.ts";

/** An idle query process is ended after this long. */
const SQL_IDLE_MS = 60_000;
/** Rows of one query stop once their JSON reaches this size (the socket queues 8 MiB). */
const SQL_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Serves `stats`, `sql`, `sql.cancel` and `tail` on `control`, with their timers and
 * processes started and stopped with the socket.
 */
export function serveConsole(control: ControlServer, engine: EngineView): StatsCollector {
  const { config } = engine;
  const e = config.engine;
  const log = engine.log.child("control");
  const stats = createStats(control, engine);
  control.attach(stats);
  control.handle("stats", async (params) => {
    if (params.fresh) await stats.measured();
    return await stats.snapshot();
  });

  const pool = new SqlPool(
    {
      dataDir: e.data_dir,
      shardCount: e.shard_count,
      topics: config.topicNames,
      busyTimeoutMs: e.busy_timeout,
    },
    { processes: config.control.sql_processes, idleMs: SQL_IDLE_MS },
    log,
  );
  control.attach(pool);
  serveSql(control, pool, {
    maxRows: config.control.sql_max_rows,
    timeoutMs: config.control.sql_timeout,
    maxBytes: SQL_MAX_BYTES,
  });

  serveTail(control, {
    readers: engine.readers,
    topics: config.topicNames,
    shardCount: e.shard_count,
    counts: () => engine.writer.topicCounts(),
  });
  return stats;
}

/** A stats collector over `engine`'s components, publishing on `control`. */
export function createStats(control: ControlServer, engine: EngineView): StatsCollector {
  const { config } = engine;
  const e = config.engine;
  return new StatsCollector({
    clock: engine.clock,
    metrics: engine.metrics,
    log: engine.log.child("control"),
    control,
    writer: engine.writer,
    readers: engine.readers,
    joiner: engine.joiner,
    windows: engine.windower ? () => engine.windower!.health() : undefined,
    sinks: config.sinks.map((s) => ({
      name: s.name,
      type: s.type,
      backlog: () => engine.sinks.get(s.name)?.backlog ?? 0,
    })),
    dataDir: e.data_dir,
    shardCount: e.shard_count,
    startedAt: engine.startedAt,
    intervalMs: config.control.stats_interval,
  });
}
