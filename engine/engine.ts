/**
 * The engine: opens the data directory, starts every component in dependency order,
 * and stops them in reverse so that nothing accepted is lost on the way out.
 */
import { type Config, resolvePath } from "./config/load.ts";
import { readPair } from "./http/tls.ts";
import type { ListenAddress } from "./schema/units.ts";
import { createLogger, type Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import type { HttpServer } from "./http/server.ts";
import { httpServerOf } from "./http/from_config.ts";
import { LayoutError, Meta } from "./store/meta.ts";
import { Writer } from "./store/writer.ts";
import { Readers } from "./store/readers.ts";
import { Retention, topicRetention } from "./store/retention.ts";
import { refuseInterruptedReshard } from "./store/reshard.ts";
import { exposedGc } from "./store/thread_gc.ts";
import type { SinkRunner } from "./sinks/runner.ts";
import { carrySseSets } from "./sse_carry.ts";
import type { Source } from "./sources/source.ts";
import { sourceKinds } from "./sources/registry.ts";
import { Joiner } from "./joins/joiner.ts";
import { systemTimers, type Timers } from "./timers.ts";
import { Windower } from "./windows/windower.ts";
import { engineIndexes } from "./indexes.ts";
import { Dlq, loggedRejects } from "./dlq/dlq.ts";
import { serveDlq } from "./control/dlq.ts";
import { Tiering } from "./tiers/tiering.ts";
import { serveTierQueries } from "./control/tiers.ts";
import { type LitestreamProcess, prepareEmbedded } from "./replication/litestream.ts";
import type { WalGuard } from "./replication/wal_guard.ts";
import { ControlServer } from "./control/server.ts";
import { serveEngineInfo } from "./control/methods.ts";
import { serveConsole } from "./control/console.ts";
import { observeEngine, observeWriter } from "./observe.ts";
import { observeReadiness, readinessReasons, readinessResponse, type Reason } from "./readiness.ts";
import { StartupListener } from "./startup.ts";
import { guardWals, joinTasks, openSinks } from "./assemble.ts";
import type { Progress } from "./progress.ts";
import { type Clock, systemClock } from "./types.ts";

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

/** Every part of a running engine. Optional parts exist only when configured. */
interface Parts {
  config: Config;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  lock: Deno.FsFile;
  meta: Meta;
  writer: Writer;
  readers: Readers;
  http: HttpServer;
  control: ControlServer;
  sinks: Map<string, SinkRunner>;
  joiner: Joiner;
  windower: Windower;
  retention: Retention;
  /** The dead-letter queue, unless `dlq.enabled: false`. */
  dlq?: Dlq;
  /** Hot to warm to cold, when `tiering.enabled`. */
  tiering?: Tiering;
  /** The Litestream child, in embedded replication mode. */
  litestream?: LitestreamProcess;
  /** Checkpoints a WAL that outgrows Litestream, while replicating. */
  walGuard?: WalGuard;
}

export class Engine {
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly lock: Deno.FsFile;
  readonly meta: Meta;
  readonly writer: Writer;
  readonly readers: Readers;
  readonly http: HttpServer;
  readonly control: ControlServer;
  readonly sinks: Map<string, SinkRunner>;
  readonly joiner: Joiner;
  readonly windower: Windower;
  readonly retention: Retention;
  readonly dlq: Dlq | undefined;
  readonly tiering: Tiering | undefined;
  readonly litestream: LitestreamProcess | undefined;
  readonly walGuard: WalGuard | undefined;
  readonly sources: Source[] = [];
  readonly startedAt: number;
  #stopping: Promise<void> | undefined;

  private constructor(parts: Parts) {
    this.config = parts.config;
    this.clock = parts.clock;
    this.log = parts.log;
    this.metrics = parts.metrics;
    this.lock = parts.lock;
    this.meta = parts.meta;
    this.writer = parts.writer;
    this.readers = parts.readers;
    this.http = parts.http;
    this.control = parts.control;
    this.sinks = parts.sinks;
    this.joiner = parts.joiner;
    this.windower = parts.windower;
    this.retention = parts.retention;
    this.dlq = parts.dlq;
    this.tiering = parts.tiering;
    this.litestream = parts.litestream;
    this.walGuard = parts.walGuard;
    this.startedAt = parts.clock.now();
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
    // Closed in reverse if starting fails part-way.
    const opened: { close(): void }[] = [lock];
    try {
      await refuseInterruptedReshard(e.data_dir, config.file);
      // Until the engine's own listener is up, the address answers "starting".
      const tls = config.http.tls;
      const startup = StartupListener.start(
        config.http.listen,
        clock,
        tls &&
          await readPair(resolvePath(config, tls.cert_file), resolvePath(config, tls.key_file)),
      );
      opened.push({ close: () => void startup.stop() });
      const metrics = new Metrics();
      if (config.replication.enabled) {
        startup.phase = "restoring missing databases from the replica";
      }
      // Embedded replication restores missing databases before anything opens them.
      const litestream = await prepareEmbedded(config, clock, log.child("replication"), metrics);
      // While Litestream replicates, it does the checkpoints.
      const walAutocheckpoint = config.replication.enabled ? 0 : undefined;
      const storage = {
        synchronous: e.synchronous,
        busyTimeoutMs: e.busy_timeout,
        walAutocheckpoint,
      };

      startup.phase = "opening the shards";
      const meta = new Meta(`${e.data_dir}/meta.db`, storage);
      opened.push(meta);
      meta.checkLayout(e.shard_count, e.data_dir);
      const writer = await Writer.open({
        ...storage,
        dataDir: e.data_dir,
        shardCount: e.shard_count,
        topics: config.topicNames,
        flushIntervalMs: e.flush_interval,
        batchSize: e.batch_size,
        maxBacklog: e.max_backlog,
        indexes: engineIndexes(config),
        tombstones: config.tiering.enabled,
      });
      opened.push({ close: () => void writer.close() });
      logStore(config, writer, log.child("store"));
      observeWriter(writer, metrics);
      const readers = await Readers.open({
        dataDir: e.data_dir,
        shardCount: e.shard_count,
        topics: config.topicNames,
        busyTimeoutMs: e.busy_timeout,
      }, e.readers_per_shard);
      opened.push(readers);
      const dlq = config.dlq.enabled
        ? new Dlq(config.dlq, { ...storage, dataDir: e.data_dir, clock, log, metrics })
        : undefined;
      if (dlq) opened.push(dlq);

      const http = httpServerOf(config.http, (path) => resolvePath(config, path), {
        log: log.child("http"),
        clock,
        metrics,
      });
      const sinks = openSinks(config, { http, clock, log, metrics, dlq });
      for (const runner of sinks.values()) opened.push({ close: () => void runner.close() });

      // Joins catch up on what committed while they were not running.
      const joinLog = log.child("joiner");
      const tasks = await joinTasks(config, { meta, readers, sinks, clock, log: joinLog });
      const joiner = new Joiner(tasks, readers, () => writer.seqs(), joinLog, metrics, {
        clock,
        timers: opts.timers ?? systemTimers,
      });
      writer.onCommit((batch) => joiner.onCommit(batch));
      startup.phase = "catching joins up on what committed while the engine was stopped";
      writer.onEvict((eviction) => joiner.onEvict(eviction));
      await carrySseSets(config, sinks, readers, clock);
      await joiner.recover();

      // Tiering finishes what a crash interrupted before any source writes.
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
        startup.phase = "finishing tiering work a stop interrupted";
        await tiering.recover();
      }

      // Windows close on the clock and deliver through the sinks; progress in meta.db.
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
      startup.phase = "rebuilding open windows";
      await windower.start();

      const retention = new Retention(
        writer,
        config.topicNames.map((topic) => ({ topic, retention: topicRetention(config, topic) })),
        clock,
        log.child("retention"),
        metrics,
      );
      const walGuard = config.replication.enabled
        ? guardWals(config, { writer, meta, dlq, log: log.child("replication"), metrics })
        : undefined;
      const engine = new Engine({
        config,
        clock,
        log,
        metrics,
        lock,
        meta,
        writer,
        readers,
        http,
        control: new ControlServer(e.socket!, log.child("control")),
        sinks,
        joiner,
        windower,
        retention,
        dlq,
        tiering,
        litestream,
        walGuard,
      });
      engine.#serve();

      startup.phase = "starting sources";
      const rejects = dlq ?? loggedRejects(log.child("dlq"), metrics);
      for (const sourceConfig of config.sources) {
        const source: Source = sourceKinds[sourceConfig.type].create(
          sourceConfig.name,
          sourceConfig as never,
          {
            writer,
            http,
            meta,
            clock,
            metrics,
            dlq: rejects,
            log: log.child(`source.${sourceConfig.name}`),
          },
        );
        engine.sources.push(source);
        await source.start();
      }
      await startup.stop();
      const address = await http.start(config.http.listen);
      opened.push({ close: () => void http.stop() });
      if (tiering) tiering.start(e.retention_interval);
      else retention.start(e.retention_interval);
      dlq?.start();
      walGuard?.start();
      if (litestream) {
        litestream.start();
        log.child("replication").info(
          `litestream replicating ${e.shard_count} shard(s), meta and dlq to ${config.replication.replica_url}`,
        );
      }
      await engine.control.start();
      opened.push({ close: () => void engine.control.stop() });
      log.child("control").info(`control socket at ${e.socket}`);
      // Last: "listening" tells scripts and tests that everything is up.
      log.child("http").info(`listening on ${http.scheme}://${address.hostname}:${address.port}`);
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

  /** The engine's own HTTP routes, metrics gauges and control methods. */
  #serve(): void {
    this.http.route(
      "GET",
      "/healthz",
      () =>
        this.#stopping ? Response.json({ status: "stopping" }, { status: 503 }) : Response.json({
          status: "ok",
          uptime_seconds: Math.round((this.clock.now() - this.startedAt) / 1000),
        }),
    );
    this.http.route("GET", "/readyz", () => readinessResponse(this.readiness()));
    this.http.route("GET", "/metrics", () =>
      new Response(this.metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      }), { access: "metrics" });
    observeEngine(this.metrics, {
      sinks: this.sinks,
      joiner: this.joiner,
      startedAt: this.startedAt,
    });
    observeReadiness(this.metrics, () => this.readiness());
    serveEngineInfo(this.control, this);
    serveDlq(this.control, this.dlq?.api);
    serveTierQueries(this.control, this.config);
    serveConsole(this.control, this);
  }

  /** Why the engine cannot accept input or deliver results now (`/readyz`); empty when it can. */
  readiness(): Reason[] {
    const retrying = this.dlq?.store.nextDue();
    return readinessReasons({
      stopping: this.#stopping !== undefined,
      dataDir: this.config.engine.data_dir,
      writer: {
        backlog: this.writer.backlog,
        maxBacklog: this.config.engine.max_backlog,
        failures: this.writer.failures(),
      },
      sources: this.sources.map((s) => ({ name: s.name, failing: s.failing?.() })),
      sinks: [...this.sinks.values()].map((s) => ({
        name: s.name,
        // With a DLQ, what failed is redelivered from there: failing until that succeeds.
        failing: retrying && !retrying.has(s.name) ? undefined : s.failing,
      })),
      joins: this.joiner.health(),
      windows: this.windower.health(),
    });
  }

  /**
   * Stops in reverse order: sources stop taking data, pending batches commit, joins
   * and windows evaluate what they received, sinks deliver what is queued, files close.
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
    await this.windower.stop();
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

/** One line per index created or dropped, and one for the shards. */
function logStore(config: Config, writer: Writer, log: Logger): void {
  for (const change of writer.indexChanges.filter((c) => c.shard === 0)) {
    for (const name of change.created) log.info(`created index ${name} on every shard`);
    for (const name of change.dropped) log.info(`dropped unused index ${name}`);
  }
  const { shard_count: shards, data_dir: dir } = config.engine;
  log.info(`${shards} shard(s) in ${dir}, topics: ${config.topicNames.join(", ") || "none"}`);
  if (!exposedGc()) {
    log.info(
      "started without --v8-flags=--expose-gc: shard and reader threads free their garbage " +
        "only when V8 decides, and hold up to ~8 MB more each (docs/operations.md: Memory)",
    );
  }
}
