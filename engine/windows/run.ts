/**
 * One window definition at run time: assigns each committed event to its windows,
 * closes windows when the frontier passes end + grace (on a timer, so a quiet stream
 * still closes them), evaluates the SQL of each closed window, delivers the results,
 * and only then records the new frontier. One close or update runs at a time.
 */
import { backoffDelay } from "../backoff.ts";
import type { Row } from "../store/readers.ts";
import type { Message, Result } from "../types.ts";
import { eventTime } from "./event_time.ts";
import { Frontier } from "./frontier.ts";
import { type Watermark, WindowProgress } from "./progress.ts";
import { lateResult, type ResultShape, windowParams, windowResults } from "./results.ts";
import { scanTopic } from "./scan.ts";
import { kindOf, type WindowKind } from "./config.ts";
import {
  type WindowerContext,
  type WindowHealth,
  type WindowMetrics,
  windowMetrics,
  type WindowTask,
} from "./task.ts";
import { Updates } from "./updates.ts";
import type { SessionKey, Span, WindowState } from "./window.ts";

/** Windows closed per evaluation round; each round is evaluated, then delivered. */
const CHUNK = 256;
/** Open windows re-evaluated per update round (emit: update). */
const UPDATE_CHUNK = 64;

class Stopped extends Error {}

export class WindowRun {
  readonly state: WindowState;
  readonly name: string;
  /** How far windows may close: the wall clock, or the event-time watermark. */
  readonly frontier: Frontier;
  /** Per shard, the seq of the last commit seen. */
  seqs: number[] = [];
  readonly #progress: WindowProgress;
  readonly #shape: ResultShape;
  readonly #late = new Set<Promise<void>>();
  #lateBatch: Result[] = [];
  #cancelTimer: (() => void) | undefined;
  #timerAt = Infinity;
  #pumping: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  readonly #sleeps = new Set<() => void>();
  /** Set with `emit: update`. */
  readonly #updates: Updates | undefined;
  #error = "";
  #failures = 0;
  #warnedAt = new Map<string, number>();
  readonly #m: WindowMetrics;
  /** Where an event's key is, for windows kept per key (sessions). */
  readonly #key: WindowKind["key"];

  constructor(readonly task: WindowTask, readonly ctx: WindowerContext) {
    const c = task.config;
    this.name = c.name;
    this.frontier = new Frontier(c.time === undefined);
    const kind = kindOf(c);
    this.state = kind.state;
    this.#progress = new WindowProgress(
      ctx.meta,
      c.name,
      JSON.stringify([...kind.shape, task.topic]),
    );
    this.#shape = { name: c.name, parameters: task.parameters, rowKey: c.row_key };
    if (c.emit === "update") this.#updates = new Updates(c.name);
    this.#m = windowMetrics(ctx.metrics);
    this.#key = kind.key;
  }

  health(): WindowHealth {
    const closed = this.state.closed;
    return {
      name: this.name,
      type: this.task.config.type,
      open: this.state.openCount,
      closedThrough: Number.isFinite(closed) ? closed : null,
      error: this.#error,
    };
  }

  // ---- events ------------------------------------------------------------

  /** Assigns one committed message of the window's topic. */
  observe(message: Message, now: number): void {
    if (message._change?.op === "delete") return;
    const time = eventTime(message, this.task.config.time);
    if (time === undefined) return this.#skip("time", message);
    let key: SessionKey | undefined;
    if (this.#key) {
      key = this.#key.of(message.payload);
      if (key === undefined) return this.#skip("key", message);
    }
    this.frontier.observe(time, now);
    this.#assign(time, key, message, now);
  }

  #assign(time: number, key: SessionKey | undefined, message: Message | undefined, now: number) {
    const assignment = this.state.add(time, key);
    if (assignment.late && message) {
      this.#m.late.inc({ window: this.name });
      if (this.task.late) this.#lateBatch.push(lateResult(this.name, message, time, now));
    }
    this.#updates?.touched(assignment);
  }

  #skip(reason: "time" | "key", message: Message): void {
    this.#m.skipped.inc({ window: this.name, reason });
    const field = reason === "time" ? this.task.config.time : this.#key?.path;
    this.#warn(
      reason,
      `window ${this.name}: message ${message.key} of ${message.topic} has no ${
        reason === "time" ? "event time (epoch ms or ISO-8601)" : "session key"
      } at ${field}; it is not counted in any window`,
    );
  }

  /** Logs `message` at most once a minute per `topic`. */
  #warn(topic: string, message: string): void {
    const now = this.ctx.clock.now();
    if ((this.#warnedAt.get(topic) ?? -Infinity) > now - 60_000) return;
    this.#warnedAt.set(topic, now);
    this.ctx.log.warn(message);
  }

  /** After a committed batch: ships late events, and closes or re-arms as time now allows. */
  afterBatch(now: number): void {
    this.#shipLate();
    if (this.#stopped) return;
    if (this.#updates?.pending) return this.#kick();
    const due = this.state.nextClose();
    if (due === undefined) return;
    if (due <= this.frontier.at(now)) return this.#kick();
    const at = this.frontier.wallOf(due);
    if (at !== undefined && at < this.#timerAt) this.#arm();
  }

  #shipLate(): void {
    if (this.#lateBatch.length === 0) return;
    const batch = this.#lateBatch;
    this.#lateBatch = [];
    const delivery = this.task.late!.deliver(batch).finally(() => this.#late.delete(delivery));
    this.#late.add(delivery);
  }

  // ---- time --------------------------------------------------------------

  /** Sets the timer for the next close. */
  #arm(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#timerAt = Infinity;
    if (this.#stopped) return;
    const due = this.state.nextClose();
    const at = due === undefined ? undefined : this.frontier.wallOf(due);
    if (at === undefined) return;
    this.#timerAt = at;
    this.#cancelTimer = this.ctx.timers.after(at - this.ctx.clock.now(), () => {
      this.#cancelTimer = undefined;
      this.#timerAt = Infinity;
      this.#kick();
    });
  }

  // ---- closing -----------------------------------------------------------

  /** Starts the pump unless it runs; it then looks again before it stops. */
  #kick(): void {
    if (this.#stopped) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = this.#pump()
      .catch((error) => {
        if (!(error instanceof Stopped)) {
          this.ctx.log.error(`window ${this.name}: ${(error as Error).message}`);
        }
      })
      .finally(() => {
        this.#pumping = undefined;
        if (this.#again) {
          this.#again = false;
          this.#kick();
        } else this.#arm();
      });
  }

  async #pump(): Promise<void> {
    while (!this.#stopped) {
      this.#again = false;
      const due = this.state.nextClose();
      if (due !== undefined && due <= this.frontier.at(this.ctx.clock.now())) {
        await this.#closeRound();
      } else if (this.#updates?.pending) {
        await this.#updateRound();
      } else return;
    }
  }

  /**
   * Closes every window the frontier has passed: evaluate, deliver, then record.
   * First every message already handed to the writer commits and is assigned, so the
   * rest of a request that moved the watermark, or a message stamped before the wall
   * clock reached the frontier, is never taken for late.
   */
  async #closeRound(): Promise<void> {
    const decidedAt = this.ctx.clock.now();
    const frontier = this.frontier.at(decidedAt);
    await this.ctx.writer.barrier();
    const seqs = [...this.seqs];
    const lateDeliveries = [...this.#late];
    const watermark = this.frontier.watermark;
    const closed = this.state.closeThrough(frontier);
    // Each chunk is evaluated while the one before is delivered; deliveries keep their order.
    let delivering = Promise.resolve();
    try {
      for (let i = 0; i < closed.length; i += CHUNK) {
        const chunk = closed.slice(i, i + CHUNK);
        for (const window of chunk) this.#updates?.closing(window);
        const results = (await Promise.all(chunk.map((w) => this.#final(w)))).flat();
        delivering = delivering.then(() => this.#deliver(results))
          .then(() => this.#delivered(chunk, decidedAt));
        // A failed delivery is thrown by the await below, not reported as unhandled meanwhile.
        delivering.catch(() => {});
      }
    } catch (error) {
      // Stopped while evaluating: what is being delivered still finishes first.
      await delivering.catch(() => {});
      throw error;
    }
    await delivering;
    await Promise.all(lateDeliveries);
    await this.#record(frontier, seqs, watermark);
  }

  /** Counts the windows of `chunk`, delivered, and how long after their close. */
  #delivered(chunk: readonly Span[], decidedAt: number): void {
    const deliveredAt = this.ctx.clock.now();
    const grace = this.task.config.grace;
    for (const window of chunk) {
      const due = Math.min(decidedAt, this.frontier.wallOf(window.end + grace) ?? decidedAt);
      this.#m.delay.observe({ window: this.name }, Math.max(0, deliveredAt - due) / 1000);
    }
    this.#m.closed.inc({ window: this.name }, chunk.length);
  }

  /** The final results of a closed window, retried until its SQL succeeds. */
  async #final(window: Span): Promise<Result[]> {
    const rows = await this.#evaluate(window);
    const now = this.ctx.clock.now();
    if (!this.#updates) return this.#rows(window, rows, now).results;
    return this.#updates.diff(window, this.#rows(window, rows, now, true).results, now, true);
  }

  async #evaluate(span: Span): Promise<Row[]> {
    for (;;) {
      if (this.#stopped) throw new Stopped();
      try {
        const { rows } = await this.ctx.readers.query(
          this.task.config.sql,
          windowParams(this.task.parameters, span),
        );
        this.#failures = 0;
        this.#error = "";
        return rows;
      } catch (error) {
        if (this.#stopped) throw new Stopped();
        await this.#failed(error as Error, `evaluating ${new Date(span.start).toISOString()}`);
      }
    }
  }

  async #failed(error: Error, what: string): Promise<void> {
    this.#failures++;
    this.#error = error.message;
    this.#m.errors.inc({ window: this.name });
    const wait = backoffDelay(
      { initial: 500, max: 30_000, multiplier: 2, jitter: 0.2 },
      this.#failures,
    );
    if (this.#failures === 1 || this.#failures % 10 === 0) {
      this.ctx.log.error(
        `window ${this.name}: ${what} failed (attempt ${this.#failures}), retrying in ${
          Math.round(wait)
        } ms: ${error.message}`,
      );
    }
    await this.#sleep(wait);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.#sleeps.delete(wake);
        cancel();
        resolve();
      };
      const cancel = this.ctx.timers.after(ms, wake);
      this.#sleeps.add(wake);
    });
  }

  #rows(span: Span, rows: Row[], now: number, final?: boolean) {
    const made = windowResults(this.#shape, span, rows, now, final);
    if (made.duplicates) {
      this.#warn(
        "rows",
        `window ${this.name}: a window returned ${rows.length} rows that ${
          this.#shape.rowKey ? `share a ${this.#shape.rowKey}` : "no row_key tells apart"
        }; they are keyed by position (set row_key to a column unique within a window)`,
      );
    }
    return made;
  }

  /** emit: update — re-evaluates open windows that received events. */
  async #updateRound(): Promise<void> {
    const updates = this.#updates!;
    const results = updates.retiredDeletions(this.ctx.clock.now());
    await Promise.all(
      updates.take(UPDATE_CHUNK).map(async ([window, span]) => {
        let rows: Row[];
        try {
          ({ rows } = await this.ctx.readers.query(
            this.task.config.sql,
            windowParams(this.task.parameters, span),
          ));
        } catch (error) {
          this.#m.errors.inc({ window: this.name });
          this.#warn(
            "update",
            `window ${this.name}: an update failed: ${(error as Error).message}`,
          );
          return;
        }
        const now = this.ctx.clock.now();
        results.push(
          ...updates.diff(window, this.#rows(span, rows, now, false).results, now, false),
        );
      }),
    );
    await this.#deliver(results);
  }

  async #deliver(results: Result[]): Promise<void> {
    if (results.length === 0) return;
    this.#m.results.inc({ window: this.name }, results.length);
    await Promise.all(this.task.sinks.map((sink) => sink.deliver(results)));
  }

  async #record(frontier: number, seqs: number[], watermark: Watermark | undefined): Promise<void> {
    const starts = this.state.takeStarts();
    for (;;) {
      try {
        this.#progress.record(frontier, seqs, watermark, starts);
        // A failed record (a full disk) that now succeeds ends the failure, as an evaluation does.
        this.#failures = 0;
        this.#error = "";
        return;
      } catch (error) {
        if (this.#stopped) {
          this.state.markChanged(starts.map(([id]) => id));
          throw new Stopped();
        }
        await this.#failed(error as Error, "recording progress");
      }
    }
  }

  // ---- lifecycle ---------------------------------------------------------

  /**
   * Rebuilds the open windows from the topic: the events no recorded close covers,
   * assigned in time order as they were before the restart. Events written after the
   * recorded close that arrived late are counted and sent to the late sink again.
   */
  async recover(shardSeqs: number[]): Promise<void> {
    const saved = this.#progress.load(shardSeqs.length);
    if (saved.redefined) {
      this.ctx.log.warn(
        `window ${this.name}: its definition changed; windows before ${
          Number.isFinite(saved.closed) ? new Date(saved.closed).toISOString() : "now"
        } stay closed, open ones are rebuilt under the new definition`,
      );
    }
    if (saved.closed > -Infinity) this.state.closeThrough(saved.closed);
    this.state.seed(saved.starts);
    this.frontier.watermark = saved.watermark;
    const events = await scanTopic(this.task, this.ctx.readers, saved);
    events.sort((a, b) => a.time - b.time);
    const now = this.ctx.clock.now();
    let latest = -Infinity;
    for (const e of events) {
      if (e.time > latest) latest = e.time;
      this.#assign(e.time, e.key, e.message, now);
    }
    if (latest > -Infinity) this.frontier.observe(latest, now);
    this.seqs = [...shardSeqs];
    this.#updates?.clear();
    this.#shipLate();
    if (events.length || Number.isFinite(saved.closed)) {
      this.ctx.log.info(
        `window ${this.name}: ${this.state.openCount} open window(s) from ${events.length} event(s)` +
          (Number.isFinite(saved.closed)
            ? `; closed through ${new Date(saved.closed).toISOString()}`
            : ""),
      );
    }
  }

  /** Closes what is due and sets the timer for the next close. */
  start(): void {
    this.#kick();
  }

  /** Resolves once no close or update round runs and late events are handed over. */
  async idle(): Promise<void> {
    while (this.#pumping || this.#late.size) {
      await Promise.all([this.#pumping, ...this.#late]);
    }
  }

  /** Finishes the round in flight (a failing one is abandoned) and stops the timer. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer?.();
    for (const wake of [...this.#sleeps]) wake();
    await this.#pumping;
    await Promise.all([...this.#late]);
  }
}
