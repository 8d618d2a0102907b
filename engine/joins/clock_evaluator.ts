/**
 * Delta evaluation of a join bounded by the clock (see `clock_bound.ts`). Each
 * evaluation binds one "now" for all its statements; the rows whose timestamp lies
 * between a bound's value at the previous evaluation's now (recorded in meta.db with
 * the delivered results) and at this one are changes, found by a range read on the
 * timestamp index, and fed to the delta as changed keys of their topic. After each
 * evaluation it says when the next row is due to cross a bound, so the joiner
 * evaluates again then even if no data arrives (and at least every `MAX_WAIT_MS`).
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Params, Readers, Row } from "../store/readers.ts";
import type { Clock } from "../types.ts";
import { boundSubject, type ClockBound } from "./clock_bound.ts";
import { NOW_PARAM, timeValue } from "./clock_rewrite.ts";
import type { EmittedState } from "./emitted.ts";
import type { Evaluation, Evaluator, JoinDefinition, TopicChanges } from "./evaluator.ts";
import { GroupEvaluator } from "./group.ts";
import { DeltaEvaluator, type DeltaOptions } from "./delta.ts";
import type { DeltaPlan } from "./delta_plan.ts";
import { quoteName, quoteString } from "./sql_tokens.ts";

/** The longest a clock-bounded join waits for its next evaluation when no data arrives. */
export const MAX_WAIT_MS = 60_000;

type ReadAll = Pick<Readers, "all">;

/** Readers that bind the evaluation's now to every statement that reads `NOW_PARAM`. */
export class NowReaders implements ReadAll {
  now = 0;
  constructor(readonly readers: ReadAll) {}

  all(sql: string, params?: Params): Promise<Row[]> {
    if (!sql.includes(NOW_PARAM)) return this.readers.all(sql, params);
    const now = { [NOW_PARAM.slice(1)]: timeValue(this.now) };
    return this.readers.all(sql, [now, ...(Array.isArray(params) ? params : [])]);
  }
}

/**
 * A bound's value at some now, as its subject compares it: for the timestamp column
 * (INTEGER, so SQLite's numeric affinity applies to the value), a number with text and
 * blobs as +Infinity (they sort after every number); for a payload field, as it is.
 */
type Level = number | string | Uint8Array | null;

const NUMERIC = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/** SQLite's numeric affinity, which comparing with the INTEGER column applies to a value. */
function numeric(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && NUMERIC.test(value)) return Number(value);
  return Infinity;
}

/** Values between `lo` and `hi`, both included; either left out means unbounded. */
interface Range {
  lo?: Level;
  hi?: Level;
}

/** The bounds of one join: their values at a given now, and the rows that cross them. */
export class ClockBounds {
  readonly #db = new DatabaseSync(":memory:");
  readonly #values: StatementSync;
  readonly #order: StatementSync;
  readonly #crosses: StatementSync;

  constructor(readonly bounds: readonly ClockBound[], readonly shardCount: number) {
    this.#values = this.#db.prepare(`SELECT ${bounds.map((b) => `(${b.expr})`).join(", ")}`);
    (this.#values as StatementSync & { setReturnArrays(on: boolean): void }).setReturnArrays(true);
    // Comparisons as SQLite makes them between two untyped values: by type, then value.
    this.#order = this.#db.prepare("SELECT min(?1, ?2) AS lo, max(?1, ?2) AS hi");
    // Whether a level moving from ?1 to ?2 passes a value: one equal to ?1 (?3), the
    // nearest above (?4) or the nearest below (?5).
    this.#crosses = this.#db.prepare(
      `SELECT CASE
         WHEN ?1 IS NULL OR ?2 IS NULL THEN (?1 IS NULL) <> (?2 IS NULL)
         WHEN ?2 = ?1 THEN 0
         WHEN ?3 THEN 1
         WHEN ?2 > ?1 THEN coalesce(?4 <= ?2, 0)
         ELSE coalesce(?5 >= ?2, 0) END AS crosses`,
    );
  }

  /** Each bound's level at `now`. */
  levels(now: number): Level[] {
    const row = this.#values.get({ [NOW_PARAM.slice(1)]: timeValue(now) }) as unknown as unknown[];
    return row.map((value, i) => this.bounds[i].index ? value as Level : numeric(value));
  }

  /** The values a bound's subject may have for its truth to differ at levels `a` and `b`. */
  #between(bound: ClockBound, a: Level, b: Level): Range | undefined {
    if (a === null && b === null) return undefined;
    if (a === null || b === null) return {}; // NULL compares as false: every row may change
    if (bound.index) {
      const { lo, hi } = this.#order.get(a, b) as { lo: Level; hi: Level };
      return { lo, hi };
    }
    const lo = Math.min(a as number, b as number);
    const hi = Math.max(a as number, b as number);
    if (lo === Infinity || hi === -Infinity) return undefined;
    return { lo: lo === -Infinity ? undefined : lo, hi: hi === Infinity ? undefined : hi };
  }

  /** Keys per topic of the rows whose bounds may hold differently at `prev` and at `now`. */
  async crossing(readers: ReadAll, prev: number, now: number): Promise<TopicChanges> {
    const a = this.levels(prev);
    const b = this.levels(now);
    const parts: string[] = [];
    const params: Level[] = [];
    this.bounds.forEach((bound, i) => {
      const range = this.#between(bound, a[i], b[i]);
      if (!range) return;
      const subject = boundSubject(bound);
      const where = [
        ...(range.lo === undefined ? [] : [`${subject} >= ?`]),
        ...(range.hi === undefined ? [] : [`${subject} <= ?`]),
      ];
      for (let s = 0; s < this.shardCount; s++) {
        parts.push(
          `SELECT ${quoteString(bound.topic)} AS topic, key FROM s${s}.${quoteName(bound.topic)}` +
            (where.length ? ` WHERE ${where.join(" AND ")}` : ""),
        );
        if (range.lo !== undefined) params.push(range.lo);
        if (range.hi !== undefined) params.push(range.hi);
      }
    });
    const changes: TopicChanges = new Map();
    if (!parts.length) return changes;
    for (const row of await readers.all(parts.join(" UNION ALL "), params)) {
      const topic = String(row.topic);
      if (!changes.has(topic)) changes.set(topic, new Set());
      changes.get(topic)!.add(String(row.key));
    }
    return changes;
  }

  /**
   * The earliest moment after `now`, and at most `maxWait` later, at which a row is due
   * to cross a bound: the nearest values on each side of each bound's level, from the
   * index, and a bisection of the time until the level reaches one (bounds move
   * monotonically with time; one that does not is still evaluated every `maxWait`).
   */
  async nextDue(readers: ReadAll, now: number, maxWait: number): Promise<number> {
    const levels = this.levels(now);
    const columns: string[] = [];
    const params: Level[] = [];
    this.bounds.forEach((bound, i) => {
      const v = levels[i];
      if (v === null || v === Infinity) return;
      const subject = boundSubject(bound);
      const arms = (select: string, where: string) =>
        Array.from({ length: this.shardCount }, (_, s) => {
          params.push(v);
          return `SELECT ${select} AS x FROM s${s}.${quoteName(bound.topic)} WHERE ${where}`;
        }).join(" UNION ALL ");
      columns.push(
        `(SELECT min(x) FROM (${arms(`min(${subject})`, `${subject} > ?`)})) AS up${i}`,
        `(SELECT max(x) FROM (${arms(`max(${subject})`, `${subject} < ?`)})) AS down${i}`,
        `(SELECT max(x) FROM (${arms("1", `${subject} = ?`)})) AS eq${i}`,
      );
    });
    const near = columns.length
      ? (await readers.all(`SELECT ${columns.join(", ")}`, params))[0]
      : {};
    const due = (t: number) =>
      this.levels(t).some((w, i) => {
        const v = levels[i];
        if (v === Infinity || w === Infinity) return v !== w;
        const crosses = this.#crosses.get(
          v,
          w,
          near[`eq${i}`] === null || near[`eq${i}`] === undefined ? 0 : 1,
          (near[`up${i}`] ?? null) as Level,
          (near[`down${i}`] ?? null) as Level,
        ) as { crosses: number };
        return crosses.crosses === 1;
      });
    let hi = now + maxWait;
    if (!due(hi)) return hi;
    let lo = now;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (due(mid)) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  close(): void {
    this.#db.close();
  }
}

/** A delta evaluator that is given the clock's changes beside the data's. */
type Inner = Evaluator & { resync(): boolean; stale(): boolean; statements?(): Statement[] };
type Statement = [string, string, string[]];

/**
 * Wraps the delta evaluator of a clock-bounded join (built over `now`, the readers it
 * reads through): binds one now per evaluation, adds the rows that crossed a bound to
 * the changes, and records the now with the results it delivers.
 */
export class ClockEvaluator implements Evaluator {
  readonly mode: string;
  #due: number | undefined;
  #evaluated = false;

  constructor(
    readonly inner: Inner,
    readonly bounds: ClockBounds,
    readonly now: NowReaders,
    readonly emitted: EmittedState,
    readonly clock: Clock,
  ) {
    this.mode = inner.mode;
  }

  async evaluate(changes: TopicChanges): Promise<Evaluation> {
    const now = this.clock.now();
    const prev = this.emitted.clockNow();
    this.now.now = now;
    // Both reads go to the reader pool at once. A row committed after them is a change
    // of the next evaluation, which reads both again.
    const [crossed, due] = await Promise.all([
      prev === undefined ? undefined : this.bounds.crossing(this.now.readers, prev, now),
      this.bounds.nextDue(this.now.readers, now, MAX_WAIT_MS),
    ]);
    let all = changes;
    if (!crossed) {
      this.inner.resync(); // results recorded without their now: evaluate everything
    } else {
      all = new Map([...changes].map(([topic, keys]) => [topic, new Set(keys)]));
      for (const [topic, keys] of crossed) {
        const set = all.get(topic) ?? new Set();
        for (const key of keys) set.add(key);
        all.set(topic, set);
      }
    }
    const evaluation = await this.inner.evaluate(all);
    evaluation.provenance = { changes: new Map(), ...evaluation.provenance, clock: now };
    this.#due = due;
    this.#evaluated = true;
    return evaluation;
  }

  /** Until this process has evaluated once, rows may have crossed meanwhile: evaluate at start. */
  stale(): boolean {
    return !this.#evaluated || this.inner.stale();
  }

  resync(): boolean {
    return this.inner.resync();
  }

  nextDue(): number | undefined {
    return this.#due;
  }

  /** See `DeltaEvaluator.statements`. */
  statements(): Statement[] {
    return this.inner.statements?.() ?? [];
  }
}

/** The evaluator of a delta-exact join whose plan has clock bounds. */
export function clockEvaluator(
  definition: JoinDefinition,
  plan: DeltaPlan,
  deps: { readers: Readers; emitted: EmittedState; clock: Clock; shardCount: number },
  opts: DeltaOptions = {},
): ClockEvaluator {
  const now = new NowReaders(deps.readers);
  const inner = new (plan.group ? GroupEvaluator : DeltaEvaluator)(
    definition,
    plan,
    now,
    deps.emitted,
    deps.clock,
    deps.shardCount,
    opts,
  );
  const bounds = new ClockBounds(plan.clock ?? [], deps.shardCount);
  return new ClockEvaluator(inner, bounds, now, deps.emitted, deps.clock);
}
