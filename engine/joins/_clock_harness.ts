/**
 * A joiner over real shards with a fake clock, for the tests of clock-bounded and
 * evicted joins: what each join delivered, folded by key into its current result.
 */
import { createLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import { Meta } from "../store/meta.ts";
import { Readers, type Row } from "../store/readers.ts";
import { uniqueIndexes } from "../store/indexes.ts";
import { Writer } from "../store/writer.ts";
import type { SinkRunner } from "../sinks/runner.ts";
import type { Result } from "../types.ts";
import { FakeClock } from "../windows/_fake_clock.ts";
import { analyzeSql } from "./analyze.ts";
import { analyzeDelta } from "./delta_plan.ts";
import { EmittedState } from "./emitted.ts";
import { FullEvaluator } from "./evaluator.ts";
import { Joiner, type JoinTask } from "./joiner.ts";
import { chooseEvaluator } from "./mode.ts";

export interface HarnessJoin {
  name: string;
  key: string;
  sql: string;
  mode?: "auto" | "full";
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
      const a = analyzeDelta(j.sql, topics);
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

  /** (Re)starts the joiner from what meta.db recorded, as the engine does at startup. */
  async start(): Promise<void> {
    this.meta = new Meta(`${this.dir}/meta.db`, { synchronous: "normal" });
    this.tasks = this.joins.map((j) => {
      const definition = {
        name: j.name,
        key: j.key,
        sql: j.sql,
        topics: analyzeSql(j.sql, this.topics).topics,
      };
      const emitted = new EmittedState(this.meta, j.name);
      const deps = { readers: this.readers, emitted, clock: this.clock, shardCount: SHARDS };
      const evaluator = j.mode === "full"
        ? new FullEvaluator(definition, this.readers, emitted, this.clock)
        : chooseEvaluator({ mode: "auto" }, definition, analyzeDelta(j.sql, this.topics), deps)
          .evaluator;
      const list = this.delivered.get(j.name) ?? [];
      this.delivered.set(j.name, list);
      const sink = {
        deliver: (results: readonly Result[]) => {
          list.push(...results);
          return Promise.resolve();
        },
      } as unknown as SinkRunner;
      return { definition, evaluator, emitted, sinks: [sink] };
    });
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

  /** Moves the clock to `t` in steps, letting each evaluation that falls due run. */
  async advanceTo(t: number): Promise<void> {
    await this.joiner.drain();
    while (this.clock.now() < t) {
      this.clock.advance(Math.min(t - this.clock.now(), 60_000));
      await this.joiner.drain();
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

  async close(): Promise<void> {
    await this.joiner.stop();
    this.meta.close();
    this.readers.close();
    await this.writer.close();
    await Deno.remove(this.dir, { recursive: true });
  }
}
