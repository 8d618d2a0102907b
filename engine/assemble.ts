/**
 * Building the engine's parts from the config: the sinks (each behind its delivery
 * runner and the dead-letter queue), the joins (each with its evaluator), and the WAL
 * guard. `engine.ts` decides the order; these decide the shape.
 */
import type { Config } from "./config/load.ts";
import { resolvePath } from "./config/load.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { HttpServer } from "./http/server.ts";
import type { Meta } from "./store/meta.ts";
import type { Readers } from "./store/readers.ts";
import type { Writer } from "./store/writer.ts";
import { checkpointPassive } from "./store/sqlite.ts";
import type { Dlq } from "./dlq/dlq.ts";
import { SinkRunner } from "./sinks/runner.ts";
import { sinkKinds } from "./sinks/registry.ts";
import type { Sink } from "./sinks/sink.ts";
import { EmittedState } from "./joins/emitted.ts";
import type { JoinTask } from "./joins/joiner.ts";
import type { TopicChanges } from "./joins/evaluator.ts";
import { forgetEvicted } from "./joins/evictions.ts";
import { chooseEvaluator, deltaScans } from "./joins/mode.ts";
import { replicatedDatabases } from "./replication/litestream_config.ts";
import { WalGuard } from "./replication/wal_guard.ts";
import type { Clock, Result } from "./types.ts";

/**
 * Every configured sink behind its runner. Results that fail after the inline retries
 * go to the dead-letter queue, or are logged and counted when it is off.
 */
export function openSinks(
  config: Config,
  deps: { http: HttpServer; clock: Clock; log: Logger; metrics: Metrics; dlq: Dlq | undefined },
): Map<string, SinkRunner> {
  const { http, clock, log, metrics, dlq } = deps;
  const sinks = new Map<string, SinkRunner>();
  for (const sinkConfig of config.sinks) {
    const sinkLog = log.child(`sink.${sinkConfig.name}`);
    const sink: Sink = sinkKinds[sinkConfig.type].create(sinkConfig.name, sinkConfig as never, {
      http,
      clock,
      log: sinkLog,
      metrics,
      dataDir: config.engine.data_dir,
      resolvePath: (p) => resolvePath(config, p),
    });
    const runner = new SinkRunner(
      sink,
      { retries: sinkConfig.retries, backoff: sinkConfig.backoff, maxBatch: sinkConfig.max_batch },
      dlq ? dlq.onFailure : dropFailed(sinkLog),
      sinkLog,
      metrics,
      dlq?.gate(sink, sinkConfig.max_batch),
    );
    sinks.set(sinkConfig.name, runner);
    sinkLog.info(`${sinkConfig.type} sink ready`);
  }
  return sinks;
}

/** The failure path with `dlq.enabled: false`: say what was lost, and why. */
function dropFailed(log: Logger) {
  return (_sink: string, results: readonly Result[], error: Error): Promise<void> => {
    log.error(`${results.length} result(s) not delivered after all retries: ${error.message}`);
    return Promise.resolve();
  };
}

/**
 * Each join with the evaluator its SQL allows (delta where exact, else full), its
 * recorded state and its sinks. Says which mode each join got, and why, and warns
 * about a delta that would scan a whole topic.
 */
export async function joinTasks(
  config: Config,
  deps: { meta: Meta; readers: Readers; sinks: Map<string, SinkRunner>; clock: Clock; log: Logger },
): Promise<JoinTask[]> {
  const { meta, readers, sinks, clock, log } = deps;
  const tasks = config.joins.map((join): JoinTask => {
    const definition = {
      name: join.name,
      key: join.key,
      sql: join.sql,
      topics: config.joinSql.get(join.name)!.topics,
    };
    const emitted = new EmittedState(meta, join.name);
    const analysis = config.joinDelta.get(join.name);
    const { evaluator, reason } = chooseEvaluator(
      join,
      definition,
      analysis,
      {
        readers,
        emitted,
        clock,
        shardCount: config.engine.shard_count,
      },
    );
    log.info(
      `join ${join.name}: reads ${definition.topics.join(", ")}, key ${join.key}, ` +
        `mode ${evaluator.mode} (${reason}), sinks ${join.sinks.join(", ")}`,
    );
    // Validation allows on_eviction: keep only where the join runs by delta.
    const occurrences = analysis?.exact ? analysis.plan.shape.occurrences.map((o) => o.topic) : [];
    const forget = join.on_eviction === "keep" && evaluator.mode !== "full"
      ? (evicted: TopicChanges) => forgetEvicted(emitted, occurrences, evicted)
      : undefined;
    return {
      definition,
      evaluator,
      emitted,
      sinks: join.sinks.map((s) => sinks.get(s)!),
      forget,
    };
  });
  for (const task of tasks) {
    const scans = await deltaScans(task.evaluator, readers);
    if (scans.length) {
      log.warn(
        `join ${task.definition.name}: a delta scans a whole topic (${scans.join(", ")}); ` +
          "link it to a changed topic with an equality on its key or a payload field",
      );
    }
  }
  return tasks;
}

/** The WAL guard over every replicated database, each checkpointed by its own writer. */
export function guardWals(
  config: Config,
  deps: { writer: Writer; meta: Meta; dlq: Dlq | undefined; log: Logger; metrics: Metrics },
): WalGuard {
  const { writer, meta, dlq } = deps;
  const { data_dir: dataDir, shard_count: shardCount } = config.engine;
  const databases = replicatedDatabases(dataDir, shardCount).flatMap((db, i) =>
    i < shardCount
      ? [{ ...db, checkpoint: () => writer.checkpoint(i) }]
      : db.name === "meta"
      ? [{ ...db, checkpoint: () => checkpointPassive(meta.db) }]
      : db.name === "dlq" && dlq
      ? [{ ...db, checkpoint: () => checkpointPassive(dlq.store.db) }]
      : []
  );
  return new WalGuard(databases, config.replication.wal_max, deps.log, deps.metrics);
}
