/**
 * The engine: opens the data directory, starts every component in dependency order,
 * and stops them in reverse so that nothing accepted is lost on the way out.
 */
import type { Config } from "./config/load.ts";
import { resolvePath } from "./config/load.ts";
import type { ListenAddress } from "./config/units.ts";
import { createLogger, type Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { HttpServer } from "./http/server.ts";
import { LayoutError, Meta } from "./store/meta.ts";
import { Writer } from "./store/writer.ts";
import { Readers } from "./store/readers.ts";
import { Retention } from "./store/retention.ts";
import { SinkRunner } from "./sinks/runner.ts";
import { sinkKinds } from "./sinks/registry.ts";
import type { Sink, SinkContext } from "./sinks/sink.ts";
import type { Source, SourceContext } from "./sources/source.ts";
import { sourceKinds } from "./sources/registry.ts";
import { EmittedState } from "./joins/emitted.ts";
import { chooseEvaluator, deltaScans, topicIndexes } from "./joins/mode.ts";
import { Joiner, type JoinTask } from "./joins/joiner.ts";
import { type Clock, type Result, systemClock } from "./types.ts";
import { ControlServer } from "./control/server.ts";
import { checkpointPassive } from "./store/sqlite.ts";
import { replicatedDatabases } from "./replication/litestream_config.ts";
import {
  findLitestream,
  LitestreamProcess,
  restoreMissing,
  writeLitestreamConfig,
} from "./replication/litestream.ts";
import { WalGuard } from "./replication/wal_guard.ts";
import { RESHARD_MARKER } from "./store/reshard.ts";
import { serveEngineInfo } from "./control/methods.ts";
import { serveConsole } from "./control/console.ts";
import { Dlq, loggedRejects } from "./dlq/dlq.ts";
import { serveDlq } from "./dlq/control.ts";
import { Cors } from "./http/cors.ts";
import { staticFiles } from "./http/static.ts";
import { carrySseSets } from "./sinks/sse_carry.ts";
import { observeEngine } from "./observe.ts";
import { systemTimers, type Timers } from "./windows/timers.ts";
import { Windower } from "./windows/windower.ts";
import { Tiering } from "./tiers/tiering.ts";
import type { Progress } from "./progress.ts";
import { serveTierQueries } from "./tiers/control.ts";

export interface EngineOptions {
  clock?: Clock;
  /** Timers on the same time as `clock` (windows close on them). */
  timers?: Timers;
  log?: Logger;
  /** Where long tiering runs show their progress (a terminal's status line). */
  progress?: Progress;
}

/** The data directory is in use by another engine. */
export class LockedError extends Error {
  constructor(dataDir: string) {
    super(
      `${dataDir} is in use by another litejoin process; stop it, or set engine.data_dir to another directory`,
    );
    this.name = "LockedError";
  }
}

export { LayoutError };

export class Engine {
  readonly sinks = new Map<string, SinkRunner>();
  readonly sources: Source[] = [];
  /** The dead-letter queue; undefined with `dlq.enabled: false`. */
  dlq: Dlq | undefined;
  windower: Windower | undefined;
  readonly startedAt: number;
  /** The Litestream child, in embedded replication mode. */
  litestream: LitestreamProcess | undefined;
  walGuard: WalGuard | undefined;
  /** Hot to warm to cold, when `tiering.enabled`. */
  tiering: Tiering | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(
    readonly config: Config,
    readonly clock: Clock,
    readonly log: Logger,
    readonly metrics: Metrics,
    readonly http: HttpServer,
    readonly meta: Meta,
    readonly writer: Writer,
    readonly readers: Readers,
    readonly joiner: Joiner,
    readonly retention: Retention,
    readonly lock: Deno.FsFile,
    readonly control: ControlServer,
  ) {
    this.startedAt = clock.now();
  }

  /** Opens the data directory and starts every component; the engine is then serving. */
  static async start(config: Config, opts: EngineOptions = {}): Promise<Engine> {
    const clock = opts.clock ?? systemClock;
    const log = opts.log ?? createLogger({ level: config.log.level, format: config.log.format });
    const { engine: e } = config;
    await Deno.mkdir(e.data_dir, { recursive: true });
    const lock = await Deno.open(`${e.data_dir}/LOCK`, { create: true, write: true });
    if (!(await lock.tryLock(true))) {
      lock.close();
      throw new LockedError(e.data_dir);
    }
    const opened: { close(): void }[] = [lock];
    try {
      await refuseInterruptedReshard(e.data_dir, config.file);
      const metrics = new Metrics();
      const replicated = config.replication.enabled;
      const litestream = await prepareReplication(config, clock, log.child("replication"), metrics);
      const walAutocheckpoint = replicated ? 0 : undefined;
      const meta = new Meta(`${e.data_dir}/meta.db`, {
        synchronous: e.synchronous,
        walAutocheckpoint,
      });
      opened.push(meta);
      meta.checkLayout(e.shard_count, e.data_dir);
      const writer = await Writer.open({
        dataDir: e.data_dir,
        shardCount: e.shard_count,
        topics: config.topicNames,
        synchronous: e.synchronous,
        busyTimeoutMs: e.busy_timeout,
        flushIntervalMs: e.flush_interval,
        batchSize: e.batch_size,
        maxBacklog: e.max_backlog,
        indexes: topicIndexes(config),
        walAutocheckpoint,
        tombstones: config.tiering.enabled,
      });
      opened.push({ close: () => void writer.close() });
      for (const change of writer.indexChanges.filter((c) => c.shard === 0)) {
        for (const name of change.created) {
          log.child("store").info(`created index ${name} on every shard`);
        }
        for (const name of change.dropped) log.child("store").info(`dropped unused index ${name}`);
      }
      log.child("store").info(
        `${e.shard_count} shard(s) in ${e.data_dir}, topics: ${
          config.topicNames.join(", ") || "none"
        }`,
      );
      observeWriter(writer, metrics);
      const readers = await Readers.open({
        dataDir: e.data_dir,
        shardCount: e.shard_count,
        topics: config.topicNames,
        busyTimeoutMs: e.busy_timeout,
      }, e.readers_per_shard);
      opened.push(readers);

      const dlq = config.dlq.enabled
        ? new Dlq(config.dlq, {
          dataDir: e.data_dir,
          synchronous: e.synchronous,
          busyTimeoutMs: e.busy_timeout,
          walAutocheckpoint,
          clock,
          log,
          metrics,
        })
        : undefined;
      if (dlq) opened.push(dlq);

      const http = new HttpServer(log.child("http"));
      if (config.http.cors.origins.length) http.useCors(new Cors(config.http.cors));
      for (const files of config.http.static) {
        http.mount(files.path, staticFiles(resolvePath(config, files.dir), files.path));
      }
      const sinkCtx: SinkContext = {
        http,
        clock,
        log,
        metrics,
        dataDir: e.data_dir,
        resolvePath: (p) => resolvePath(config, p),
      };
      const sinks = new Map<string, SinkRunner>();
      for (const sinkConfig of config.sinks) {
        const sinkLog = log.child(`sink.${sinkConfig.name}`);
        const sink: Sink = sinkKinds[sinkConfig.type].create(
          sinkConfig.name,
          sinkConfig as never,
          { ...sinkCtx, log: sinkLog },
        );
        const runner = new SinkRunner(
          dlq ? dlq.gate(sink, sinkConfig.max_batch) : sink,
          {
            retries: sinkConfig.retries,
            backoff: sinkConfig.backoff,
            maxBatch: sinkConfig.max_batch,
          },
          dlq ? dlq.onFailure : dropFailed(sinkLog),
          sinkLog,
          metrics,
        );
        sinks.set(sinkConfig.name, runner);
        opened.push({ close: () => void runner.close() });
        sinkLog.info(`${sinkConfig.type} sink ready`);
      }

      const joinLog = log.child("joiner");
      const tasks: JoinTask[] = config.joins.map((join) => {
        const definition = {
          name: join.name,
          key: join.key,
          sql: join.sql,
          topics: config.joinSql.get(join.name)!.topics,
        };
        const emitted = new EmittedState(meta, join.name);
        const { evaluator, reason } = chooseEvaluator(
          join,
          definition,
          config.joinDelta.get(join.name),
          { readers, emitted, clock, shardCount: e.shard_count },
        );
        joinLog.info(
          `join ${join.name}: reads ${definition.topics.join(", ")}, key ${join.key}, ` +
            `mode ${evaluator.mode} (${reason}), sinks ${join.sinks.join(", ")}`,
        );
        return { definition, evaluator, emitted, sinks: join.sinks.map((s) => sinks.get(s)!) };
      });
      for (const task of tasks) {
        const scans = await deltaScans(task.evaluator, readers);
        if (scans.length) {
          joinLog.warn(
            `join ${task.definition.name}: a delta scans a whole topic (${scans.join(", ")}); ` +
              "link it to a changed topic with an equality on its key or a payload field",
          );
        }
      }
      const joiner = new Joiner(tasks, readers, () => writer.seqs(), joinLog, metrics);
      writer.onCommit((batch) => joiner.onCommit(batch));
      await carrySseSets(config, sinks, readers, clock);
      await joiner.recover();

      // Tiering: finish what a crash interrupted before any source writes.
      const tiering = config.tiering.enabled
        ? await Tiering.open({
          config,
          writer,
          meta,
          clock,
          log: log.child("tiering"),
          metrics,
          progress: opts.progress,
          retentionOf: (topic) => topicRetention(config, topic),
        })
        : undefined;
      if (tiering) {
        opened.push({ close: () => void tiering.stop() });
        await tiering.recover();
      }

      // Windows: closed on the clock, delivered through the sinks, progress in meta.db.
      const windower = Windower.fromConfig(config, sinks, {
        readers,
        writer,
        meta,
        clock,
        timers: opts.timers ?? systemTimers,
        log: log.child("windows"),
        metrics,
      });
      writer.onCommit((batch) => windower.onCommit(batch));
      opened.push({ close: () => void windower.stop() });
      await windower.start();

      const retentionLog = log.child("retention");
      const retention = new Retention(
        writer,
        config.topicNames.map((topic) => ({ topic, retention: topicRetention(config, topic) })),
        clock,
        retentionLog,
        metrics,
      );

      const engine = new Engine(
        config,
        clock,
        log,
        metrics,
        http,
        meta,
        writer,
        readers,
        joiner,
        retention,
        lock,
        new ControlServer(e.socket!, log.child("control")),
      );
      for (const [name, runner] of sinks) engine.sinks.set(name, runner);
      observeEngine(metrics, { sinks, joiner, startedAt: engine.startedAt });
      engine.windower = windower;
      engine.#routes();
      serveEngineInfo(engine.control, engine);
      engine.dlq = dlq;
      serveDlq(engine.control, dlq?.api);
      engine.tiering = tiering;
      serveTierQueries(engine.control, config);
      serveConsole(engine.control, engine);

      const rejects = dlq ?? loggedRejects(log.child("dlq"), metrics);
      const sourceCtx: SourceContext = { writer, http, meta, clock, log, metrics, dlq: rejects };
      for (const sourceConfig of config.sources) {
        const source: Source = sourceKinds[sourceConfig.type].create(
          sourceConfig.name,
          sourceConfig as never,
          { ...sourceCtx, log: log.child(`source.${sourceConfig.name}`) },
        );
        engine.sources.push(source);
        await source.start();
      }
      const address = await http.start(config.http.listen);
      opened.push({ close: () => void http.stop() });
      if (tiering) tiering.start(e.retention_interval);
      else retention.start(e.retention_interval);
      dlq?.start();
      if (replicated) {
        engine.walGuard = new WalGuard(
          replicatedDatabases(e.data_dir, e.shard_count).flatMap((db, i) =>
            i < e.shard_count
              ? [{ ...db, checkpoint: () => writer.checkpoint(i) }]
              : db.name === "meta"
              ? [{ ...db, checkpoint: () => checkpointPassive(meta.db) }]
              : db.name === "dlq" && dlq
              ? [{ ...db, checkpoint: () => checkpointPassive(dlq.store.db) }]
              : []
          ),
          config.replication.wal_max,
          log.child("replication"),
          metrics,
        );
        engine.walGuard.start();
      }
      if (litestream) {
        engine.litestream = litestream;
        litestream.start();
        log.child("replication").info(
          `litestream replicating ${e.shard_count} shard(s), meta and dlq to ${config.replication.replica_url}`,
        );
      }
      await engine.control.start();
      opened.push({ close: () => void engine.control.stop() });
      log.child("control").info(`control socket at ${e.socket}`);
      // Last: "listening" tells scripts and tests that everything is up.
      log.child("http").info(`listening on http://${address.hostname}:${address.port}`);
      return engine;
    } catch (error) {
      for (const resource of opened.reverse()) {
        try {
          resource.close();
        } catch { /* already failing; the first error is the one to report */ }
      }
      throw error;
    }
  }

  /** Where the HTTP listener is (the real port when 0 was configured). */
  get address(): ListenAddress {
    return this.http.address;
  }

  #routes(): void {
    this.http.route(
      "GET",
      "/healthz",
      () =>
        this.#stopping ? Response.json({ status: "stopping" }, { status: 503 }) : Response.json({
          status: "ok",
          uptime_seconds: Math.round((this.clock.now() - this.startedAt) / 1000),
        }),
    );
    this.http.route("GET", "/metrics", () =>
      new Response(this.metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      }));
  }

  /**
   * Stops in reverse order: sources stop taking data, pending batches commit, joins
   * evaluate what they received, sinks deliver what is queued, files close.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.log.info("stopping: no new input; flushing batches and deliveries");
    await this.control.stop();
    await Promise.allSettled(this.sources.map((s) => s.stop()));
    await this.http.stop();
    await this.retention.stop();
    await this.tiering?.stop();
    await this.writer.flush();
    await this.joiner.stop();
    await this.windower?.stop();
    await this.dlq?.stop();
    await Promise.allSettled(
      [...this.sinks.values()].map((s) => s.close({ abandonRetries: true })),
    );
    this.readers.close();
    await this.writer.close();
    this.walGuard?.stop();
    this.dlq?.close();
    this.meta.close();
    // Last, so that Litestream ships everything committed above before it exits.
    await this.litestream?.stop();
    this.lock.close();
    this.log.info("stopped");
  }
}

async function refuseInterruptedReshard(dataDir: string, file: string): Promise<void> {
  try {
    const plan = JSON.parse(await Deno.readTextFile(`${dataDir}/${RESHARD_MARKER}`));
    throw new LayoutError(
      `a reshard of ${dataDir} from ${plan.from} to ${plan.to} shards was interrupted; ` +
        `finish it with litejoin reshard --to ${plan.to} -c ${file}`,
    );
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Embedded replication: finds Litestream, restores missing databases before anything
 * opens them, and returns the child to start once the engine serves.
 */
async function prepareReplication(
  config: Config,
  clock: Clock,
  log: Logger,
  metrics: Metrics,
): Promise<LitestreamProcess | undefined> {
  const r = config.replication;
  if (!r.enabled || r.mode !== "embedded") return undefined;
  const { data_dir: dataDir, shard_count: shardCount } = config.engine;
  const bin = await findLitestream(r.litestream_bin);
  const configPath = await writeLitestreamConfig(r, dataDir, shardCount);
  if (r.restore_on_boot) await restoreMissing(bin, configPath, dataDir, shardCount, log);
  return new LitestreamProcess(bin, configPath, log, clock, metrics);
}

/**
 * A topic's retention: its own setting, else `engine.retention`. A topic an API
 * source writes holds the API's current state, and unchanged items are deliberately
 * not rewritten, so age says nothing about it: it keeps its rows unless told otherwise.
 */
export function topicRetention(config: Config, topic: string): number {
  const own = config.topics.find((t) => t.name === topic)?.retention;
  if (own !== undefined) return own;
  const snapshot = config.sources.some((s) => s.type === "api" && s.topic === topic);
  return snapshot ? 0 : config.engine.retention;
}

function observeWriter(writer: Writer, metrics: Metrics): void {
  const commits = metrics.counter("litejoin_shard_commits_total", "Batches committed, by shard.");
  const rows = metrics.counter("litejoin_shard_messages_total", "Messages committed, by shard.");
  const latency = metrics.histogram(
    "litejoin_shard_commit_seconds",
    "Time to commit one batch, by shard.",
  );
  const backlog = metrics.gauge(
    "litejoin_writer_backlog_messages",
    "Messages accepted but not yet committed.",
  );
  backlog.collect(() => backlog.set({}, writer.backlog));
  writer.onCommit((batch) => {
    const shard = String(batch.shard);
    commits.inc({ shard });
    rows.inc({ shard }, batch.messages.length);
    latency.observe({ shard }, batch.commitMs / 1000);
  });
}

/** The failure path with `dlq.enabled: false`: say what was lost, and why. */
function dropFailed(log: Logger) {
  return (_sink: string, results: readonly Result[], error: Error): Promise<void> => {
    log.error(`${results.length} result(s) not delivered after all retries: ${error.message}`);
    return Promise.resolve();
  };
}
