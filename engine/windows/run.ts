/**
 * One window definition at run time: assigns each committed event to its windows,
 * closes windows when the frontier passes end + grace (on a timer, so a quiet stream
 * still closes them), evaluates the SQL of each closed window, delivers the results,
 * and only then records the new frontier. One close or update runs at a time.
 */
import { backoffDelay } from "../backoff.ts";
import { hashString } from "../joins/emitted.ts";
import type { Logger } from "../log.ts";
import type { Counter, Histogram, Metrics } from "../metrics.ts";
import { getPath } from "../paths.ts";
import type { Meta } from "../store/meta.ts";
import type { Readers, Row } from "../store/readers.ts";
import type { Writer } from "../store/writer.ts";
import type { Clock, Message, Result } from "../types.ts";
import type { WindowConfig } from "./config.ts";
import { eventTime } from "./event_time.ts";
import { type Watermark, WindowProgress } from "./progress.ts";
import { lateResult, type ResultShape, windowParams, windowResults } from "./results.ts";
import { asSessionKey, sessionId, SessionWindows } from "./session.ts";
import { SlidingWindows } from "./sliding.ts";
import type { Timers } from "./timers.ts";
import { TumblingWindows } from "./tumbling.ts";
import type { SessionKey, Span, WindowState } from "./window.ts";

/** Where results go: a `SinkRunner` (resolves once delivered or handed to its failure path). */
export interface ResultSink {
  deliver(results: readonly Result[]): Promise<void>;
}

/** One configured window and where its results go. */
export interface WindowTask {
  config: WindowConfig;
  /** The topic whose messages open windows. */
  topic: string;
  /** Named parameters its SQL uses. */
  parameters: readonly string[];
  sinks: ResultSink[];
  late?: ResultSink;
}

export interface WindowerContext {
  readers: Pick<Readers, "query">;
  writer: Pick<Writer, "barrier" | "seqs">;
  meta: Meta;
  clock: Clock;
  timers: Timers;
  log: Logger;
  metrics: Metrics;
}

/** What the console and `/metrics` show about one window. */
export interface WindowHealth {
  name: string;
  type: string;
  open: number;
  /** The close frontier (epoch ms), or null before the first close. */
  closedThrough: number | null;
  /** Empty when healthy; otherwise the last error. */
  error: string;
}

/** Windows closed per evaluation round; each round is evaluated, then delivered. */
const CHUNK = 256;
/** Open windows re-evaluated per update round (emit: update). */
const UPDATE_CHUNK = 64;

class Stopped extends Error {}

export class WindowRun {
  readonly state: WindowState;
  readonly name: string;
  /** Event time is the message timestamp, stamped on receipt by the clock. */
  readonly ingestTime: boolean;
  watermark: Watermark | undefined;
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
  readonly #dirty = new Set<Span>();
  readonly #retired: Span[] = [];
  /** emit: update — per open window, the hash of each result key last delivered. */
  readonly #emitted = new Map<Span, Map<string, number>>();
  #error = "";
  #failures = 0;
  #warnedAt = new Map<string, number>();
  readonly #m: {
    late: Counter;
    skipped: Counter;
    closed: Counter;
    results: Counter;
    errors: Counter;
    delay: Histogram;
  };

  constructor(readonly task: WindowTask, readonly ctx: WindowerContext) {
    const c = task.config;
    this.name = c.name;
    this.ingestTime = c.time === undefined;
    this.state = c.type === "tumbling"
      ? new TumblingWindows(c.size, c.grace)
      : c.type === "sliding"
      ? new SlidingWindows(c.size, c.slide, c.grace)
      : new SessionWindows(c.gap, c.max_duration, c.grace);
    const shapeOf = c.type === "tumbling"
      ? [c.type, c.size]
      : c.type === "sliding"
      ? [c.type, c.size, c.slide]
      : [c.type, c.gap, c.max_duration ?? null, c.key];
    this.#progress = new WindowProgress(
      ctx.meta,
      c.name,
      JSON.stringify([...shapeOf, c.time ?? null, task.topic]),
    );
    this.#shape = { name: c.name, parameters: task.parameters, rowKey: c.row_key };
    const m = ctx.metrics;
    this.#m = {
      late: m.counter(
        "litejoin_window_late_total",
        "Events that arrived after their window closed, by window.",
      ),
      skipped: m.counter(
        "litejoin_window_skipped_total",
        "Events without a usable time or session key, by window and reason.",
      ),
      closed: m.counter("litejoin_window_closed_total", "Windows closed and delivered, by window."),
      results: m.counter(
        "litejoin_window_results_total",
        "Results delivered by windows, by window.",
      ),
      errors: m.counter("litejoin_window_errors_total", "Failed window evaluations, by window."),
      delay: m.histogram(
        "litejoin_window_close_delay_seconds",
        "Time from a window's close (end + grace) to the delivery of its results, by window.",
      ),
    };
  }

  get #update(): boolean {
    return this.task.config.emit === "update";
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
    if (this.task.config.type === "session") {
      key = asSessionKey(getPath(message.payload, this.task.config.key));
      if (key === undefined) return this.#skip("key", message);
    }
    if (!this.ingestTime && (!this.watermark || time > this.#watermarkAt(now))) {
      this.watermark = { time, wall: now };
    }
    this.#assign(time, key, message, now);
  }

  #assign(time: number, key: SessionKey | undefined, message: Message | undefined, now: number) {
    const assignment = this.state.add(time, key);
    if (assignment.late && message) {
      this.#m.late.inc({ window: this.name });
      if (this.task.late) this.#lateBatch.push(lateResult(this.name, message, time, now));
    }
    if (this.#update) {
      for (const window of assignment.windows) this.#dirty.add(window);
      for (const window of assignment.merged) {
        this.#dirty.delete(window);
        this.#retired.push(window);
      }
    }
  }

  #skip(reason: "time" | "key", message: Message): void {
    this.#m.skipped.inc({ window: this.name, reason });
    const field = reason === "time"
      ? this.task.config.time
      : (this.task.config as { key: string }).key;
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
    if (this.#dirty.size || this.#retired.length) return this.#kick();
    const due = this.state.nextClose();
    if (due === undefined) return;
    if (due <= this.#frontierAt(now)) return this.#kick();
    const at = this.#wallOf(due);
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

  #watermarkAt(now: number): number {
    const w = this.watermark;
    return w ? w.time + (now - w.wall) : -Infinity;
  }

  /** How far windows may close at wall-clock `now`. */
  #frontierAt(now: number): number {
    return this.ingestTime ? now : this.#watermarkAt(now);
  }

  /** The wall-clock time at which the frontier reaches `due`, if it is known. */
  #wallOf(due: number): number | undefined {
    if (this.ingestTime) return due;
    const w = this.watermark;
    return w ? w.wall + (due - w.time) : undefined;
  }

  /** Sets the timer for the next close. */
  #arm(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#timerAt = Infinity;
    if (this.#stopped) return;
    const due = this.state.nextClose();
    const at = due === undefined ? undefined : this.#wallOf(due);
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
      if (due !== undefined && due <= this.#frontierAt(this.ctx.clock.now())) {
        await this.#closeRound();
      } else if (this.#dirty.size || this.#retired.length) {
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
    const frontier = this.#frontierAt(decidedAt);
    await this.ctx.writer.barrier();
    const seqs = [...this.seqs];
    const lateDeliveries = [...this.#late];
    const watermark = this.watermark;
    const closed = this.state.closeThrough(frontier);
    const grace = this.task.config.grace;
    for (let i = 0; i < closed.length; i += CHUNK) {
      const chunk = closed.slice(i, i + CHUNK);
      for (const window of chunk) this.#dirty.delete(window);
      const results = (await Promise.all(chunk.map((w) => this.#final(w)))).flat();
      await this.#deliver(results);
      const deliveredAt = this.ctx.clock.now();
      for (const window of chunk) {
        const due = Math.min(decidedAt, this.#wallOf(window.end + grace) ?? decidedAt);
        this.#m.delay.observe({ window: this.name }, Math.max(0, deliveredAt - due) / 1000);
      }
      this.#m.closed.inc({ window: this.name }, chunk.length);
    }
    await Promise.all(lateDeliveries);
    await this.#record(frontier, seqs, watermark);
  }

  /** The final results of a closed window, retried until its SQL succeeds. */
  async #final(window: Span): Promise<Result[]> {
    const rows = await this.#evaluate(window);
    const now = this.ctx.clock.now();
    if (!this.#update) return this.#rows(window, rows, now).results;
    return this.#diff(window, window, rows, now, true);
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

  /** emit: update — the results that differ from what was last delivered for `window`. */
  #diff(window: Span, span: Span, rows: Row[], now: number, final: boolean): Result[] {
    const before = this.#emitted.get(window) ?? new Map<string, number>();
    const after = new Map<string, number>();
    const out: Result[] = [];
    for (const result of this.#rows(span, rows, now, final).results) {
      const hash = hashString(JSON.stringify(result.row));
      after.set(result.key, hash);
      if (!final && before.get(result.key) === hash) continue;
      result._change = { op: before.has(result.key) ? "update" : "insert" };
      out.push(result);
    }
    for (const key of before.keys()) {
      if (!after.has(key)) out.push(this.#deletion(key, now));
    }
    if (final) this.#emitted.delete(window);
    else this.#emitted.set(window, after);
    return out;
  }

  #deletion(key: string, now: number): Result {
    return { name: this.name, key, row: {}, timestamp: now, _change: { op: "delete" } };
  }

  /** emit: update — re-evaluates open windows that received events. */
  async #updateRound(): Promise<void> {
    const now = this.ctx.clock.now();
    const results: Result[] = [];
    for (const window of this.#retired.splice(0)) {
      for (const key of this.#emitted.get(window)?.keys() ?? []) {
        results.push(this.#deletion(key, now));
      }
      this.#emitted.delete(window);
    }
    const targets = [...this.#dirty].slice(0, UPDATE_CHUNK);
    for (const window of targets) this.#dirty.delete(window);
    await Promise.all(targets.map(async (window) => {
      const span: Span = { start: window.start, end: window.end, key: window.key };
      let rows: Row[];
      try {
        ({ rows } = await this.ctx.readers.query(
          this.task.config.sql,
          windowParams(this.task.parameters, span),
        ));
      } catch (error) {
        this.#m.errors.inc({ window: this.name });
        this.#warn("update", `window ${this.name}: an update failed: ${(error as Error).message}`);
        return;
      }
      results.push(...this.#diff(window, span, rows, this.ctx.clock.now(), false));
    }));
    await this.#deliver(results);
  }

  async #deliver(results: Result[]): Promise<void> {
    if (results.length === 0) return;
    this.#m.results.inc({ window: this.name }, results.length);
    await Promise.all(this.task.sinks.map((sink) => sink.deliver(results)));
  }

  async #record(frontier: number, seqs: number[], watermark: Watermark | undefined): Promise<void> {
    const starts = this.state instanceof SessionWindows ? this.state.takeStarts() : [];
    for (;;) {
      try {
        this.#progress.record(frontier, seqs, watermark, starts);
        return;
      } catch (error) {
        if (this.#stopped) {
          if (this.state instanceof SessionWindows) {
            this.state.markChanged(starts.map(([id]) => id));
          }
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
    if (this.state instanceof SessionWindows) this.state.seed(saved.starts);
    this.watermark = saved.watermark;
    const events = await scanTopic(this, this.ctx.readers, saved.closed, saved.seqs, saved.starts);
    events.sort((a, b) => a.time - b.time);
    const now = this.ctx.clock.now();
    let latest = -Infinity;
    for (const e of events) {
      if (e.time > latest) latest = e.time;
      this.#assign(e.time, e.key, e.message, now);
    }
    if (!this.ingestTime && latest > this.#watermarkAt(now)) {
      this.watermark = { time: latest, wall: now };
    }
    this.seqs = [...shardSeqs];
    this.#dirty.clear();
    this.#retired.length = 0;
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

interface ScannedEvent {
  time: number;
  key?: SessionKey;
  /** Set for events written after the recorded close: they may be late. */
  message?: Message;
}

const PAGE = 5000;

/** The events of the window's topic that a restart must assign again, read shard by shard. */
async function scanTopic(
  run: WindowRun,
  readers: Pick<Readers, "query">,
  closed: number,
  seqs: number[],
  starts: Map<string, number[]>,
): Promise<ScannedEvent[]> {
  const c = run.task.config;
  const grace = c.grace;
  // Events before this cannot fall in an open window (sessions: unless their key's
  // saved starts say so).
  let from: number;
  let fromKey: (id: string) => number;
  if (c.type === "session") {
    const minStart = new Map<string, number>();
    let min = closed - grace;
    for (const [id, list] of starts) {
      const m = Math.min(...list);
      minStart.set(id, m);
      if (m < min) min = m;
    }
    from = min;
    fromKey = (id) => Math.min(closed - grace, minStart.get(id) ?? Infinity);
  } else {
    from = closed - grace - c.size;
    fromKey = () => from;
  }
  const keyPath = c.type === "session" ? c.key : undefined;
  const out: ScannedEvent[] = [];
  for (let shard = 0; shard < seqs.length; shard++) {
    const filter = run.ingestTime && from > -Infinity
      ? `AND (timestamp >= ${Math.floor(from)} OR _seq > ${seqs[shard]})`
      : "";
    for (let after = 0;;) {
      const { rows } = await readers.query(
        `SELECT rowid AS r, key, payload, timestamp, _seq FROM s${shard}."${run.task.topic}"
         WHERE rowid > ? ${filter} ORDER BY rowid LIMIT ${PAGE}`,
        [after],
      );
      for (const row of rows) {
        const message: Message = {
          topic: run.task.topic,
          key: String(row.key),
          payload: JSON.parse(String(row.payload)),
          timestamp: Number(row.timestamp),
        };
        const time = eventTime(message, c.time);
        if (time === undefined) continue;
        let key: SessionKey | undefined;
        if (keyPath !== undefined) {
          key = asSessionKey(getPath(message.payload, keyPath));
          if (key === undefined) continue;
        }
        const fresh = Number(row._seq) > seqs[shard];
        if (!fresh && time < fromKey(key === undefined ? "" : sessionId(key))) continue;
        out.push({ time, key, message: fresh ? message : undefined });
      }
      if (rows.length < PAGE) break;
      after = Number(rows[rows.length - 1].r);
    }
  }
  return out;
}
