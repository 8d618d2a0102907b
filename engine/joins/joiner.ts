/**
 * Runs every join after each committed batch that touches a topic it reads, delivers
 * what changed to its sinks, then records the delivery. One evaluation per join runs
 * at a time; batches that commit meanwhile are merged into the next one. Rows that
 * retention or tiering evict are changes too, and a join whose results change with
 * time alone (a clock bound) is also evaluated when its evaluator says they next do.
 */
import { backoffDelay } from "../backoff.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Readers } from "../store/readers.ts";
import type { CommittedBatch, Eviction } from "../store/writer.ts";
import { type Clock, type Result, type ResultSink, systemClock } from "../types.ts";
import { systemTimers, type Timers } from "../timers.ts";
import { EmittedState } from "./emitted.ts";
import type { Evaluator, JoinDefinition, TopicChanges } from "./evaluator.ts";
import type { Forgotten } from "./evictions.ts";

export interface JoinTask {
  definition: JoinDefinition;
  evaluator: Evaluator;
  emitted: EmittedState;
  sinks: ResultSink[];
  /**
   * With `on_eviction: keep`: how to forget the results of evicted rows instead of
   * re-evaluating them (see `evictions.ts`). Unset, evictions are changes like deletes.
   */
  forget?: (evicted: TopicChanges) => Forgotten;
}

/** What the console and `/metrics` show about one join. */
export interface JoinHealth {
  name: string;
  mode: string;
  /** Empty when healthy; otherwise the last error. */
  error: string;
  pendingKeys: number;
  /**
   * How long the oldest commit not yet delivered has waited, in milliseconds (0 when
   * nothing is pending): the join's lag behind its input.
   */
  lagMs: number;
}

class JoinState {
  pending: TopicChanges = new Map();
  pendingKeys = 0;
  /** Evicted keys whose results are to be forgotten (`on_eviction: keep`). */
  evicted: TopicChanges = new Map();
  /** When the oldest commit merged into `pending` was seen (performance.now()), if any. */
  pendingSince: number | undefined;
  /** The `pendingSince` of the evaluation under way, if any. */
  runningSince: number | undefined;
  /** Per shard, the highest seq merged into `pending`. */
  pendingSeq: number[];
  /** Per shard, the seq up to which results are delivered and recorded. */
  progress: number[];
  running: Promise<void> | undefined;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Cancels the timer set for when the evaluator's results are next due to change. */
  cancelDue: (() => void) | undefined;
  /** Evaluate even with no changed key (the evaluator asked to resync). */
  forced = false;
  failures = 0;
  error = "";

  constructor(readonly task: JoinTask, progress: number[]) {
    this.progress = progress;
    this.pendingSeq = [...progress];
  }

  merge(topic: string, keys: Iterable<string>, since = performance.now()): void {
    this.pendingSince = Math.min(this.pendingSince ?? since, since);
    let set = this.pending.get(topic);
    if (!set) this.pending.set(topic, set = new Set());
    for (const key of keys) {
      if (!set.has(key)) this.pendingKeys++;
      set.add(key);
    }
  }

  /** Keeps evicted keys for the next evaluation to forget their results. */
  mergeEvicted(topic: string, keys: Iterable<string>): void {
    const set = this.evicted.get(topic) ?? new Set();
    for (const key of keys) set.add(key);
    this.evicted.set(topic, set);
    this.forced = true;
  }
}

export class Joiner {
  readonly #states: JoinState[];
  readonly #byTopic = new Map<string, JoinState[]>();
  #stopped = false;
  readonly #evaluations;
  readonly #latency;
  readonly #lag;
  readonly #results;
  readonly #errors;

  constructor(
    tasks: readonly JoinTask[],
    readonly readers: Readers,
    readonly shardSeqs: () => number[],
    readonly log: Logger,
    metrics: Metrics,
    /** When results change with time alone (clock-bounded joins), evaluations are set on these. */
    readonly time: { clock: Clock; timers: Timers } = { clock: systemClock, timers: systemTimers },
  ) {
    const shardCount = shardSeqs().length;
    this.#states = tasks.map((task) => new JoinState(task, task.emitted.progress(shardCount)));
    for (const state of this.#states) {
      for (const topic of state.task.definition.topics) {
        const list = this.#byTopic.get(topic) ?? [];
        list.push(state);
        this.#byTopic.set(topic, list);
      }
    }
    this.#evaluations = metrics.counter(
      "litejoin_join_evaluations_total",
      "Join evaluations, by join.",
    );
    this.#errors = metrics.counter(
      "litejoin_join_errors_total",
      "Join evaluations that failed, by join.",
    );
    this.#results = metrics.counter(
      "litejoin_join_results_total",
      "Changed results emitted by joins, by join and change (insert, update, delete).",
    );
    this.#latency = metrics.histogram(
      "litejoin_join_evaluation_seconds",
      "Time to evaluate a join after a batch, by join.",
    );
    this.#lag = metrics.histogram(
      "litejoin_join_lag_seconds",
      "Time from the commit of the oldest batch an evaluation covers to the delivery of its " +
        "results (recorded also when no result changed), by join.",
    );
  }

  /**
   * Evaluates whatever each join has not yet delivered: writes committed after its
   * recorded progress (everything, for a new join). Call before sources start.
   */
  async recover(): Promise<void> {
    const seqs = this.shardSeqs();
    await Promise.all(this.#states.map(async (state) => {
      for (const topic of state.task.definition.topics) {
        for (let shard = 0; shard < seqs.length; shard++) {
          if (seqs[shard] <= state.progress[shard]) continue;
          const rows = await this.readers.all(
            `SELECT key FROM s${shard}."${topic}" WHERE _seq > ?`,
            [
              state.progress[shard],
            ],
          );
          state.merge(topic, rows.map((r) => String(r.key)));
        }
      }
      state.pendingSeq = seqs.map((seq, i) => Math.max(seq, state.pendingSeq[i]));
      state.forced = state.task.evaluator.stale?.() ?? false;
      if (state.pendingSeq.some((seq, i) => seq > state.progress[i])) {
        // Rows deleted meanwhile left no key behind to find.
        // resync() must run even when stale() already forced an evaluation: it is what
        // makes that evaluation re-read everything rather than only the changed keys.
        state.forced = (state.task.evaluator.resync?.() ?? false) || state.forced;
        this.log.info(
          `join ${state.task.definition.name}: catching up on ${state.pendingKeys} changed key(s)`,
        );
      }
    }));
    for (const state of this.#states) this.#schedule(state);
    await this.drain();
  }

  /** Takes a committed batch: the writer calls this after every commit. */
  onCommit(batch: CommittedBatch): void {
    const touched = new Set<JoinState>();
    for (const message of batch.messages) {
      const states = this.#byTopic.get(message.topic);
      if (!states) continue;
      for (const state of states) {
        state.merge(message.topic, [message.key]);
        touched.add(state);
      }
    }
    for (const state of touched) {
      state.pendingSeq[batch.shard] = Math.max(state.pendingSeq[batch.shard], batch.seq);
      this.#schedule(state);
    }
  }

  /**
   * Takes an eviction: the writer calls this after retention or tiering removed rows.
   * The evicted keys are changes like deletes, or, for a join that keeps the results of
   * evicted rows, keys whose results it forgets.
   */
  onEvict(eviction: Eviction): void {
    for (const state of this.#byTopic.get(eviction.topic) ?? []) {
      if (state.task.forget) state.mergeEvicted(eviction.topic, eviction.keys);
      else state.merge(eviction.topic, eviction.keys);
      state.pendingSeq[eviction.shard] = Math.max(state.pendingSeq[eviction.shard], eviction.seq);
      this.#schedule(state);
    }
  }

  #schedule(state: JoinState): void {
    const idle = state.pendingKeys === 0 && !state.forced;
    if (this.#stopped || state.running || state.retryTimer || idle) {
      if (idle && !state.running) {
        this.#settleProgress(state);
        this.#setDue(state);
      }
      return;
    }
    state.running = this.#run(state).finally(() => {
      state.running = undefined;
      state.runningSince = undefined;
      this.#schedule(state);
    });
  }

  /**
   * Evaluates again when the evaluator says its results next change with no new data
   * (a clock bound), even if nothing is committed meanwhile.
   */
  #setDue(state: JoinState): void {
    const due = state.task.evaluator.nextDue?.();
    if (this.#stopped || due === undefined || state.cancelDue) return;
    state.cancelDue = this.time.timers.after(due - this.time.clock.now(), () => {
      state.cancelDue = undefined;
      state.forced = true;
      this.#schedule(state);
    });
  }

  /** With nothing pending, recorded progress can move up to the merged seqs. */
  #settleProgress(state: JoinState): void {
    if (state.pendingSeq.every((seq, i) => seq <= state.progress[i])) return;
    try {
      state.task.emitted.commit(new Map(), state.pendingSeq);
    } catch {
      // Not recorded (e.g. the disk is full): the next settle records it; until then a
      // restart re-evaluates from the older progress, which only repeats deliveries.
      return;
    }
    state.progress = [...state.pendingSeq];
  }

  async #run(state: JoinState): Promise<void> {
    const { definition, evaluator, emitted, sinks } = state.task;
    const changes = state.pending;
    const covered = [...state.pendingSeq];
    const forced = state.forced;
    const since = state.pendingSince ?? performance.now();
    state.pending = new Map();
    state.pendingKeys = 0;
    state.pendingSince = undefined;
    state.runningSince = since;
    state.forced = false;
    state.cancelDue?.();
    state.cancelDue = undefined;
    const evicted = state.evicted;
    state.evicted = new Map();
    const started = performance.now();
    let evaluation;
    try {
      // Forgotten first, so that the evaluation below no longer finds (and retracts) them.
      if (evicted.size) {
        const { update, provenance } = state.task.forget!(evicted);
        emitted.commit(update, state.progress, provenance);
      }
      evaluation = await evaluator.evaluate(changes);
    } catch (error) {
      for (const [topic, keys] of changes) state.merge(topic, keys, since);
      for (const [topic, keys] of evicted) state.mergeEvicted(topic, keys);
      state.forced ||= forced;
      this.#fail(state, error as Error);
      return;
    }
    this.#evaluations.inc({ join: definition.name });
    this.#latency.observe({ join: definition.name }, (performance.now() - started) / 1000);
    if (evaluation.missingKeys || evaluation.duplicateKeys) {
      this.log.warn(
        `join ${definition.name}: ${evaluation.missingKeys} row(s) without a value in key column ` +
          `${definition.key} were dropped, ${evaluation.duplicateKeys} key(s) repeated; ` +
          "make the key column unique and non-null",
      );
    }
    try {
      await this.#deliver(definition.name, evaluation.results, sinks);
      emitted.commit(evaluation.update, covered, evaluation.provenance);
    } catch (error) {
      // Not recorded (e.g. the disk is full): the same changes are evaluated again and
      // their results delivered again, which at-least-once delivery allows.
      for (const [topic, keys] of changes) state.merge(topic, keys, since);
      state.forced ||= forced;
      this.#fail(state, error as Error);
      return;
    }
    this.#lag.observe({ join: definition.name }, (performance.now() - since) / 1000);
    state.progress = covered;
    state.failures = 0;
    state.error = "";
  }

  async #deliver(join: string, results: Result[], sinks: ResultSink[]): Promise<void> {
    if (results.length === 0) return;
    for (const r of results) this.#results.inc({ join, change: r._change?.op ?? "insert" });
    await Promise.all(sinks.map((sink) => sink.deliver(results)));
  }

  #fail(state: JoinState, error: Error): void {
    const name = state.task.definition.name;
    state.failures++;
    state.error = error.message;
    this.#errors.inc({ join: name });
    const wait = backoffDelay(
      { initial: 500, max: 30_000, multiplier: 2, jitter: 0.2 },
      state.failures,
    );
    if (state.failures === 1 || state.failures % 10 === 0) {
      this.log.error(
        `join ${name} failed (attempt ${state.failures}), retrying in ${
          Math.round(wait)
        } ms: ${error.message}`,
      );
    }
    state.retryTimer = setTimeout(() => {
      state.retryTimer = undefined;
      this.#schedule(state);
    }, wait);
  }

  /** Resolves once no join has pending changes or a running evaluation (failing joins excepted). */
  async drain(): Promise<void> {
    for (;;) {
      const busy = this.#states.filter((s) => s.running);
      if (busy.length === 0) return;
      await Promise.all(busy.map((s) => s.running));
    }
  }

  health(): JoinHealth[] {
    return this.#states.map((s) => ({
      name: s.task.definition.name,
      mode: s.task.evaluator.mode,
      error: s.error,
      pendingKeys: s.pendingKeys,
      lagMs: oldestWait(s.runningSince, s.pendingSince),
    }));
  }

  /** Finishes running evaluations and stops scheduling new ones. */
  async stop(): Promise<void> {
    await this.drain();
    this.#stopped = true;
    const seqs = this.shardSeqs();
    for (const state of this.#states) {
      clearTimeout(state.retryTimer);
      state.cancelDue?.();
      // Every commit so far has been seen: a join with nothing left to evaluate is
      // up to date with all of them (including writes to topics it does not read).
      if (state.pendingKeys === 0 && !state.forced && !state.retryTimer) {
        state.pendingSeq = seqs.map((seq, i) => Math.max(seq, state.pendingSeq[i]));
        this.#settleProgress(state);
      }
    }
  }
}

/** Milliseconds since the earliest of the given moments (performance.now()), 0 for none. */
function oldestWait(...moments: (number | undefined)[]): number {
  const set = moments.filter((m) => m !== undefined);
  return set.length ? performance.now() - Math.min(...set) : 0;
}
