/**
 * A joiner over real shards with a fake clock, for the tests of clock-bounded and
 * evicted joins: what each join delivered, folded by key into its current result.
 */
import { createLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import { Meta } from "../store/meta.ts";
import { type Params, Readers, type Row } from "../store/readers.ts";
import { uniqueIndexes } from "../store/indexes.ts";
import { Writer } from "../store/writer.ts";
import type { Result, ResultSink } from "../types.ts";
import { FakeClock } from "../fake_clock.ts";
import { analyzeSql } from "./analyze.ts";
import { analyzeDelta } from "./delta_plan.ts";
import { bindClock } from "./clock_rewrite.ts";
import { NowReaders } from "./clock_evaluator.ts";
import { EmittedState } from "./emitted.ts";
import { FullEvaluator, type TopicChanges } from "./evaluator.ts";
import { forgetEvicted, type OnEviction } from "./evictions.ts";
import { Joiner, type JoinTask } from "./joiner.ts";
import { chooseEvaluator } from "./mode.ts";

export interface HarnessJoin {
  name: string;
  key: string;
  sql: string;
  mode?: "auto" | "full";
  onEviction?: OnEviction;
}

export const SHARDS = 3;

export class Harness {
  meta!: Meta;
  joiner!: Joiner;
  tasks!: JoinTask[];
  /** Per join, every result delivered, in order. */
  readonly delivered = new Map<string, Result[]>();

  private constructor(
    readonly dir: string,
    readonly topics: string[],
    readonly joins: HarnessJoin[],
    readonly writer: Writer,
    readonly readers: Readers,
    readonly clock: FakeClock,
  ) {}

  static async open(topics: string[], joins: HarnessJoin[], start: number): Promise<Harness> {
    const dir = await Deno.makeTempDir({ prefix: "litejoin-clock-" });
    const indexes = joins.flatMap((j) => {
      const a = analyzeDelta(j.sql, topics, j.key);
      return a.exact ? a.plan.indexes : [];
    });
    const writer = await Writer.open({
      dataDir: dir,
      shardCount: SHARDS,
      topics,
      synchronous: "normal",
      flushIntervalMs: 1,
      batchSize: 1000,
      maxBacklog: 1_000_000,
      indexes: uniqueIndexes(indexes),
    });
    const readers = await Readers.open(
      { dataDir: dir, shardCount: SHARDS, topics, busyTimeoutMs: 5000 },
      2,
    );
    const h = new Harness(dir, topics, joins, writer, readers, new FakeClock(start));
    writer.onCommit((batch) => h.joiner.onCommit(batch));
    writer.onEvict((eviction) => h.joiner.onEvict(eviction));
    await h.start();
    return h;
  }

  /**
   * Joins in full mode, evaluated only when `evaluateFull` is called (the joiner would
   * evaluate them only when data arrives): what full mode gives at a given now.
   */
  full: JoinTask[] = [];

  /** (Re)starts the joiner from what meta.db recorded, as the engine does at startup. */
  async start(): Promise<void> {
    this.meta = new Meta(`${this.dir}/meta.db`, { synchronous: "normal" });
    const tasks = this.joins.map((j): JoinTask => {
      const definition = {
        name: j.name,
        key: j.key,
        sql: j.sql,
        topics: analyzeSql(j.sql, this.topics).topics,
      };
      const emitted = new EmittedState(this.meta, j.name);
      const deps = { readers: this.readers, emitted, clock: this.clock, shardCount: SHARDS };
      // Full mode over the same statement, with the fake clock's now bound when it runs.
      const now = new NowReaders(this.readers);
      const full = {
        all: (sql: string, params?: Params) => {
          now.now = this.clock.now();
          return now.all(sql, params);
        },
      };
      const evaluator = j.mode === "full"
        ? new FullEvaluator({ ...definition, sql: bindClock(j.sql).sql }, full, emitted, this.clock)
        : chooseEvaluator(
          { mode: "auto" },
          definition,
          analyzeDelta(j.sql, this.topics, j.key),
          deps,
        )
          .evaluator;
      const list = this.delivered.get(j.name) ?? [];
      this.delivered.set(j.name, list);
      const sink = {
        deliver: (results: readonly Result[]) => {
          list.push(...results);
          return Promise.resolve();
        },
      } as unknown as ResultSink;
      const analysis = analyzeDelta(j.sql, this.topics, j.key);
      const occurrences = analysis.exact ? analysis.plan.shape.occurrences.map((o) => o.topic) : [];
      const forget = j.onEviction === "keep"
        ? (evicted: TopicChanges) => forgetEvicted(emitted, occurrences, evicted)
        : undefined;
      return { definition, evaluator, emitted, sinks: [sink], forget };
    });
    this.full = tasks.filter((t) => t.evaluator.mode === "full");
    this.tasks = tasks.filter((t) => t.evaluator.mode !== "full");
    this.joiner = new Joiner(
      this.tasks,
      this.readers,
      () => this.writer.seqs(),
      createLogger({ level: "error", write: () => {} }),
      new Metrics(),
      { clock: this.clock, timers: this.clock },
    );
    await this.joiner.recover();
  }

  /** Stops the joiner as the engine does (it finishes what is running). */
  async stop(): Promise<void> {
    await this.joiner.stop();
    this.meta.close();
  }

  /**
   * Moves the clock to `t`, letting each evaluation that falls due run (a timer set
   * while the clock moved, for a moment it passed, fires at once, as `setTimeout` would).
   */
  async advanceTo(t: number): Promise<void> {
    for (;;) {
      await this.joiner.drain();
      if (this.clock.due) this.clock.advance(0);
      else if (this.clock.now() < t) this.clock.advance(Math.min(t - this.clock.now(), 60_000));
      else return;
    }
  }

  /** The result of `join` as its deliveries, applied in order, say it is. */
  state(join: string): Map<string, Row> {
    const out = new Map<string, Row>();
    for (const r of this.delivered.get(join) ?? []) {
      if (r._change?.op === "delete") out.delete(r.key);
      else out.set(r.key, r.row);
    }
    return out;
  }

  /** `key:op` of what `join` delivered since `from`. */
  ops(join: string, from = 0): string[] {
    return (this.delivered.get(join) ?? []).slice(from).map((r) => `${r.key}:${r._change?.op}`);
  }

  /** Evaluates the full-mode joins at the clock's now, delivering and recording what changed. */
  async evaluateFull(): Promise<void> {
    for (const task of this.full) {
      const evaluation = await task.evaluator.evaluate(new Map());
      await Promise.all(task.sinks.map((s) => s.deliver(evaluation.results)));
      task.emitted.commit(evaluation.update, this.writer.seqs(), evaluation.provenance);
    }
  }

  /** The rows `sql` gives over the topics now, by `key` column, with the clock at `now`. */
  async expected(sql: string, key: string, now = this.clock.now()): Promise<Map<string, Row>> {
    const readers = new NowReaders(this.readers);
    readers.now = now;
    const out = new Map<string, Row>();
    for (const row of await readers.all(bindClock(sql).sql)) {
      if (row[key] !== null) out.set(String(row[key]), row);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.joiner.stop();
    this.meta.close();
    this.readers.close();
    await this.writer.close();
    await Deno.remove(this.dir, { recursive: true });
  }
}
