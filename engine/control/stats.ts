/**
 * The `stats` stream: per shard, topic, join, window and sink, what an operator watches.
 * Every figure comes from counters the engine keeps anyway (metrics, the shards' row
 * counts), read once per interval: a tick costs a few map lookups and two `stat` calls
 * per shard, never a scan. Bytes per topic come from SQLite's `dbstat`, measured on a
 * reader thread only while someone watches (a subscriber, or a `stats` call in the last
 * two minutes), at a cadence bounded by its own cost.
 */
import type { Metrics } from "../metrics.ts";
import type { Logger } from "../log.ts";
import type { Clock } from "../types.ts";
import type { JoinHealth } from "../joins/joiner.ts";
import type { WindowHealth } from "../windows/task.ts";
import type { TopicCount } from "../store/shard.ts";
import { shardPath } from "../store/shard.ts";
import { ControlError, type ControlServer, type ControlService } from "./server.ts";
import { evaluatorHealth, sinkHealth, worst } from "./health.ts";
import { histogramSample, ms, recentP99, Trail } from "./_trail.ts";
import type {
  DlqSummary,
  JoinStats,
  ShardStats,
  SinkStats,
  Stats,
  TopicStats,
  WindowStats,
} from "./protocol.ts";

export interface StatsDeps {
  clock: Clock;
  metrics: Metrics;
  log: Logger;
  control: ControlServer;
  writer: { topicCounts(): Map<string, TopicCount>; readonly backlog: number };
  readers: { all(sql: string): Promise<Record<string, unknown>[]> };
  joiner: { health(): JoinHealth[] };
  /** The windows, when the engine runs any. */
  windows?: () => WindowHealth[];
  sinks: readonly { name: string; type: string; backlog(): number }[];
  dataDir: string;
  shardCount: number;
  startedAt: number;
  intervalMs: number;
}

/** Intervals kept for sparklines. */
const HISTORY = 60;
/** What "recent" means for failures, retries and p99 latencies. */
const RECENT_MS = 60_000;
/** Bytes are measured at most this often, and never more than 1% of the time. */
const MEASURE_EVERY_MS = 30_000;
const MEASURE_COST_FACTOR = 100;
/** A `stats` call keeps byte measurements going this long without a subscriber. */
const INTEREST_MS = 120_000;

interface Measured {
  bytes: number;
  rows: number;
}

export class StatsCollector implements ControlService {
  readonly #trail: Trail;
  readonly #history: number[][];
  readonly #files: { db: number; wal: number }[];
  readonly #measured = new Map<string, Measured>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #ticking: Promise<void> | undefined;
  #measuring: Promise<void> | undefined;
  #lastTick: number;
  #elapsed = 0;
  #nextMeasure = 0;
  #interestUntil = 0;
  #dlqWarned = false;
  #dlqLast: DlqSummary | null = null;

  constructor(readonly deps: StatsDeps) {
    this.#trail = new Trail(Math.max(1, Math.round(RECENT_MS / deps.intervalMs)));
    this.#history = Array.from({ length: deps.shardCount }, () => []);
    this.#files = Array.from({ length: deps.shardCount }, () => ({ db: 0, wal: 0 }));
    this.#lastTick = deps.clock.now();
  }

  start(): void {
    if (this.#timer !== undefined) return;
    void this.tick();
    this.#timer = setInterval(() => void this.tick(), this.deps.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
    await this.#measuring;
  }

  /**
   * Takes this interval's readings, and pushes a snapshot to subscribers of `stats`.
   * Called by the timer; tests call it with a fake clock.
   */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick().finally(() => this.#ticking = undefined);
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    const { metrics, clock, writer } = this.deps;
    const now = clock.now();
    this.#elapsed = Math.max(1, now - this.#lastTick);
    this.#lastTick = now;
    const messages = metrics.counter("litejoin_shard_messages_total", "");
    const commits = metrics.counter("litejoin_shard_commits_total", "");
    const commitTime = metrics.histogram("litejoin_shard_commit_seconds", "");
    for (let i = 0; i < this.deps.shardCount; i++) {
      const shard = String(i);
      this.#trail.push(`shard.${i}`, [messages.get({ shard }), commits.get({ shard })]);
      this.#trail.push(`shard.${i}.commit`, histogramSample(commitTime, { shard }));
      const history = this.#history[i];
      history.push(this.#perSecond(this.#trail.step(`shard.${i}`)[0]));
      if (history.length > HISTORY) history.shift();
    }
    for (const [topic, count] of writer.topicCounts()) {
      this.#trail.push(`topic.${topic}`, [count.written]);
    }
    const evaluations = metrics.counter("litejoin_join_evaluations_total", "");
    const joinTime = metrics.histogram("litejoin_join_evaluation_seconds", "");
    for (const join of this.deps.joiner.health()) {
      this.#trail.push(`join.${join.name}`, [evaluations.get({ join: join.name })]);
      this.#trail.push(`join.${join.name}.time`, histogramSample(joinTime, { join: join.name }));
    }
    const closeDelay = metrics.histogram("litejoin_window_close_delay_seconds", "");
    for (const window of this.deps.windows?.() ?? []) {
      const labels = { window: window.name };
      this.#trail.push(`window.${window.name}.time`, histogramSample(closeDelay, labels));
    }
    const failed = metrics.counter("litejoin_sink_failed_total", "");
    const retries = metrics.counter("litejoin_sink_retries_total", "");
    const sendTime = metrics.histogram("litejoin_sink_send_seconds", "");
    for (const { name } of this.deps.sinks) {
      this.#trail.push(`sink.${name}`, [failed.get({ sink: name }), retries.get({ sink: name })]);
      this.#trail.push(`sink.${name}.time`, histogramSample(sendTime, { sink: name }));
    }
    await this.#statFiles();
    const subscribed = this.deps.control.subscribed("stats");
    if (subscribed) this.#interestUntil = now + INTEREST_MS;
    if (now < this.#interestUntil && now >= this.#nextMeasure) this.#measureBytes();
    if (subscribed) this.deps.control.publish("stats", await this.snapshot());
  }

  #perSecond(delta: number): number {
    return Math.round((delta * 1000 / this.#elapsed) * 10) / 10;
  }

  async #statFiles(): Promise<void> {
    const size = (path: string) => Deno.stat(path).then((s) => s.size, () => 0);
    await Promise.all(this.#files.map(async (file, i) => {
      const path = shardPath(this.deps.dataDir, i);
      [file.db, file.wal] = await Promise.all([size(path), size(`${path}-wal`)]);
    }));
  }

  /** Measures bytes per topic with `dbstat` on a reader, in the background. */
  #measureBytes(): void {
    if (this.#measuring) return;
    this.#measuring = (async () => {
      const started = performance.now();
      const totals = new Map<string, number>();
      try {
        for (let i = 0; i < this.deps.shardCount; i++) {
          const rows = await this.deps.readers.all(
            `SELECT m.tbl_name AS topic, sum(d.pgsize) AS bytes
             FROM dbstat('s${i}', 1) AS d JOIN s${i}.sqlite_schema AS m ON m.name = d.name
             GROUP BY m.tbl_name`,
          );
          for (const row of rows) {
            const topic = String(row.topic);
            totals.set(topic, (totals.get(topic) ?? 0) + Number(row.bytes));
          }
        }
      } catch (error) {
        this.deps.log.warn(`cannot measure topic sizes: ${(error as Error).message}`);
        return;
      } finally {
        const cost = performance.now() - started;
        this.#nextMeasure = this.deps.clock.now() +
          Math.max(MEASURE_EVERY_MS, cost * MEASURE_COST_FACTOR);
      }
      const counts = this.deps.writer.topicCounts();
      for (const [topic, count] of counts) {
        this.#measured.set(topic, { bytes: totals.get(topic) ?? 0, rows: count.rows });
      }
    })().finally(() => this.#measuring = undefined);
  }

  /**
   * Resolves once topic bytes are measured (starting a measurement if none was made),
   * or after `waitMs`, whichever comes first.
   */
  async measured(waitMs = 2000): Promise<void> {
    if (this.#measured.size === 0 && !this.#measuring) this.#measureBytes();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#measuring,
      new Promise((resolve) => timer = setTimeout(resolve, waitMs)),
    ]);
    clearTimeout(timer);
  }

  /** The figures as of the last tick, with the DLQ and windows read now. */
  async snapshot(): Promise<Stats> {
    const { clock, metrics, writer } = this.deps;
    const now = clock.now();
    this.#interestUntil = Math.max(this.#interestUntil, now + INTEREST_MS);
    const commitTime = metrics.histogram("litejoin_shard_commit_seconds", "");
    const shards: ShardStats[] = this.#history.map((history, i) => ({
      shard: i,
      writes_per_s: history.at(-1) ?? 0,
      history: [...history],
      commits_per_s: this.#perSecond(this.#trail.step(`shard.${i}`, 2)[1]),
      commit_ms_last: ms(commitTime.stats({ shard: String(i) }).last),
      commit_ms_p99: recentP99(this.#trail.change(`shard.${i}.commit`), commitTime.buckets),
      db_bytes: this.#files[i].db,
      wal_bytes: this.#files[i].wal,
    }));

    const topics: TopicStats[] = [...writer.topicCounts()].map(([topic, count]) => {
      const measured = this.#measured.get(topic);
      let bytes: number | null = null;
      if (measured) {
        bytes = measured.rows > 0
          ? Math.round(measured.bytes * count.rows / measured.rows)
          : measured.bytes;
      }
      return {
        topic,
        rows: count.rows,
        bytes,
        rate_per_s: this.#perSecond(this.#trail.step(`topic.${topic}`)[0]),
        written: count.written,
      };
    });

    const evaluations = metrics.counter("litejoin_join_evaluations_total", "");
    const errors = metrics.counter("litejoin_join_errors_total", "");
    const joinTime = metrics.histogram("litejoin_join_evaluation_seconds", "");
    const joins: JoinStats[] = this.deps.joiner.health().map((join) => {
      const labels = { join: join.name };
      const p99 = recentP99(this.#trail.change(`join.${join.name}.time`), joinTime.buckets);
      return {
        name: join.name,
        mode: join.mode,
        evaluations: evaluations.get(labels),
        errors: errors.get(labels),
        last_ms: ms(joinTime.stats(labels).last),
        p99_ms: p99,
        pending_keys: join.pendingKeys,
        lag_ms: Math.round(join.lagMs),
        ...evaluatorHealth({ error: join.error, pending_keys: join.pendingKeys, p99_ms: p99 }),
      };
    });

    const closed = metrics.counter("litejoin_window_closed_total", "");
    const windowErrors = metrics.counter("litejoin_window_errors_total", "");
    const late = metrics.counter("litejoin_window_late_total", "");
    const closeDelay = metrics.histogram("litejoin_window_close_delay_seconds", "");
    const windows: WindowStats[] = (this.deps.windows?.() ?? []).map((window) => {
      const labels = { window: window.name };
      const p99 = recentP99(this.#trail.change(`window.${window.name}.time`), closeDelay.buckets);
      return {
        name: window.name,
        type: window.type,
        evaluations: closed.get(labels),
        errors: windowErrors.get(labels),
        last_ms: ms(closeDelay.stats(labels).last),
        p99_ms: p99,
        open: window.open,
        closed_through: window.closedThrough,
        late: late.get(labels),
        ...evaluatorHealth({ error: window.error, p99_ms: p99 }),
      };
    });

    const dlq = await this.#dlq();
    const delivered = metrics.counter("litejoin_sink_delivered_total", "");
    const failed = metrics.counter("litejoin_sink_failed_total", "");
    const retries = metrics.counter("litejoin_sink_retries_total", "");
    const sendTime = metrics.histogram("litejoin_sink_send_seconds", "");
    const sinks: SinkStats[] = this.deps.sinks.map((sink) => {
      const labels = { sink: sink.name };
      const [failedRecently, retriesRecently] = this.#trail.change(`sink.${sink.name}`, 2);
      const entry = dlq?.by_sink[sink.name];
      const waiting = dlq ? { retrying: entry?.retrying ?? 0, dead: entry?.dead ?? 0 } : null;
      const backlog = sink.backlog();
      return {
        name: sink.name,
        type: sink.type,
        delivered: delivered.get(labels),
        failed: failed.get(labels),
        retries: retries.get(labels),
        backlog,
        last_ms: ms(sendTime.stats(labels).last),
        p99_ms: recentP99(this.#trail.change(`sink.${sink.name}.time`), sendTime.buckets),
        dlq_depth: waiting ? waiting.retrying + waiting.dead : null,
        dlq_oldest: entry?.oldest_failed_at ?? null,
        ...sinkHealth({
          failedRecently,
          retriesRecently,
          backlog,
          dlq: waiting && { ...waiting, oldest_failed_at: entry?.oldest_failed_at ?? null },
          now,
        }),
      };
    });

    return {
      at: now,
      uptime_seconds: Math.round((now - this.deps.startedAt) / 1000),
      interval_ms: this.deps.intervalMs,
      backlog: writer.backlog,
      shards,
      topics,
      joins,
      windows,
      sinks,
      dlq,
      status: worst([...joins, ...windows, ...sinks].map((c) => c.status)),
    };
  }

  /**
   * `dlq.stats`, or null when the engine has no DLQ (the method is not served, or says
   * the queue is disabled). A read that fails otherwise keeps the last figures.
   */
  async #dlq(): Promise<DlqSummary | null> {
    const { control, log } = this.deps;
    if (!control.serves("dlq.stats")) return null;
    try {
      return this.#dlqLast = await control.call<DlqSummary>("dlq.stats");
    } catch (error) {
      if (error instanceof ControlError && error.code === "dlq_disabled") return null;
      if (!this.#dlqWarned) log.warn(`cannot read DLQ stats: ${(error as Error).message}`);
      this.#dlqWarned = true;
      return this.#dlqLast;
    }
  }
}
