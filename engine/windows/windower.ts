/**
 * Runs every configured window: the writer hands it each committed batch, it assigns
 * the events of each window's topic, and each window closes on its own schedule. On
 * start it rebuilds the open windows from the topics and closes those that closed
 * while the engine was down; results go through the sinks' `SinkRunner`s, and each
 * close is recorded in `meta.db` only after its results are delivered.
 */

import type { CommittedBatch } from "../store/writer.ts";
import { scansWarning, windowScans } from "./plan.ts";
import { WindowRun } from "./run.ts";
import type { WindowConfig } from "./config.ts";
import type { WindowSql } from "./check.ts";
import type { ResultSink, WindowerContext, WindowHealth, WindowTask } from "./task.ts";

export type { ResultSink, WindowerContext, WindowHealth, WindowTask };

export class Windower {
  readonly #runs: WindowRun[];
  readonly #byTopic = new Map<string, WindowRun[]>();

  constructor(tasks: readonly WindowTask[], readonly ctx: WindowerContext) {
    this.#runs = tasks.map((task) => new WindowRun(task, ctx));
    for (const run of this.#runs) {
      const list = this.#byTopic.get(run.task.topic) ?? [];
      list.push(run);
      this.#byTopic.set(run.task.topic, list);
    }
    const open = ctx.metrics.gauge("litejoin_window_open", "Open windows (sessions), by window.");
    open.collect(() => {
      for (const run of this.#runs) open.set({ window: run.name }, run.state.openCount);
    });
  }

  /** The windows of `config`, delivering to the named sinks. */
  static fromConfig(
    config: { windows: readonly WindowConfig[]; windowSql: ReadonlyMap<string, WindowSql> },
    sinks: ReadonlyMap<string, ResultSink>,
    ctx: WindowerContext,
  ): Windower {
    const tasks = config.windows.map((window): WindowTask => {
      const sql = config.windowSql.get(window.name)!;
      return {
        config: window,
        topic: sql.topic,
        parameters: sql.parameters,
        sinks: window.sinks.map((name) => sinks.get(name)!),
        late: window.late.sink === undefined ? undefined : sinks.get(window.late.sink)!,
      };
    });
    return new Windower(tasks, ctx);
  }

  get size(): number {
    return this.#runs.length;
  }

  /** Takes a committed batch: the writer calls this after every commit. */
  onCommit(batch: CommittedBatch): void {
    if (this.#runs.length === 0) return;
    const now = this.ctx.clock.now();
    let touched: Set<WindowRun> | undefined;
    for (const message of batch.messages) {
      const runs = this.#byTopic.get(message.topic);
      if (!runs) continue;
      for (const run of runs) {
        run.observe(message, now);
        (touched ??= new Set()).add(run);
      }
    }
    for (const run of this.#runs) {
      if (batch.seq > (run.seqs[batch.shard] ?? 0)) run.seqs[batch.shard] = batch.seq;
    }
    if (touched) { for (const run of touched) run.afterBatch(now); }
  }

  /**
   * Rebuilds every window's open windows from its topic, then starts closing them.
   * Call before sources start (no commits may run meanwhile).
   */
  async start(): Promise<void> {
    const seqs = this.ctx.writer.seqs();
    for (const run of this.#runs) {
      const log = this.ctx.log;
      const c = run.task.config;
      log.info(
        `window ${c.name}: ${c.type} on ${run.task.topic}, ` +
          `time ${c.time ?? "message timestamp"}, emit on ${c.emit}, sinks ${c.sinks.join(", ")}` +
          (c.late.sink ? `, late events to ${c.late.sink}` : ""),
      );
      await run.recover(seqs);
      const scans = await windowScans(c.sql, run.task.parameters, this.ctx.readers)
        .catch(() => []);
      if (scans.length) log.warn(scansWarning(c, run.task.topic, scans));
    }
    for (const run of this.#runs) run.start();
  }

  /** Resolves once no window is closing or updating and late events are handed over. */
  async idle(): Promise<void> {
    await Promise.all(this.#runs.map((run) => run.idle()));
  }

  health(): WindowHealth[] {
    return this.#runs.map((run) => run.health());
  }

  /** Finishes the closes in flight and stops the timers. Call before the sinks close. */
  async stop(): Promise<void> {
    await Promise.all(this.#runs.map((run) => run.stop()));
  }
}
