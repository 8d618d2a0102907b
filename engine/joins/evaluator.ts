/**
 * How a join finds the results that changed. The joiner owns scheduling, delivery
 * and progress; an evaluator only answers "given these changed keys, which results
 * changed?". The incremental evaluator and the full one are interchangeable here.
 */
import type { Readers, Row } from "../store/readers.ts";
import type { Clock, Result } from "../types.ts";
import type { EmittedState, EmittedUpdate, ProvenanceUpdate } from "./emitted.ts";
import { hashString } from "../hash.ts";

/** Changed keys per topic, from one or more committed batches. */
export type TopicChanges = Map<string, Set<string>>;

export interface Evaluation {
  results: Result[];
  /** The emitted state to record once `results` are delivered. */
  update: EmittedUpdate;
  /** Result rows dropped because their key column was empty. */
  missingKeys: number;
  /** Result keys that appeared more than once (the last row won). */
  duplicateKeys: number;
  /** Sources of results to record with `update` (delta evaluation only). */
  provenance?: ProvenanceUpdate;
}

export interface JoinDefinition {
  name: string;
  /** The result column that identifies a result row. */
  key: string;
  sql: string;
  topics: string[];
}

export interface Evaluator {
  /** Shown at startup and in the console: how this join is evaluated. */
  readonly mode: string;
  /**
   * The results that differ from what was last emitted, given the keys that changed
   * since. Assumes the previous evaluation's update was recorded.
   */
  evaluate(changes: TopicChanges): Promise<Evaluation>;
  /**
   * Writes were committed while no evaluation ran (after a crash), and the keys they
   * deleted cannot be listed: the next evaluation must not rely on `changes` alone.
   * Returns true if an evaluation is needed even when no changed key is known.
   */
  resync?(): boolean;
  /** True when what the evaluator recorded is stale (e.g. the SQL changed): run it at start. */
  stale?(): boolean;
  /**
   * The statements an incremental evaluation runs, for EXPLAIN QUERY PLAN:
   * `[driving topic, sql, params]`. Absent when evaluation re-reads everything.
   */
  statements?(): [string, string, string[]][];
  /**
   * When results may next change with no new data (clock time, ms): the joiner
   * evaluates then. Undefined when only data changes them.
   */
  nextDue?(): number | undefined;
}

/**
 * Re-runs the whole query and emits only the rows that differ from the last emitted
 * result, deletes included. Exact for any query; costs O(result) per evaluation.
 */
export class FullEvaluator implements Evaluator {
  readonly mode = "full";
  #last: Map<string, number> | undefined;

  constructor(
    readonly join: JoinDefinition,
    readonly readers: Pick<Readers, "all">,
    readonly emitted: EmittedState,
    readonly clock: Clock,
  ) {}

  /** A full evaluation never relies on the changed keys; it only needs to run. */
  resync(): boolean {
    return true;
  }

  async evaluate(_changes: TopicChanges): Promise<Evaluation> {
    const rows = await this.readers.all(this.join.sql);
    this.#last ??= this.emitted.load();
    return diffRows(this.join, rows, this.#last, this.clock.now());
  }
}

/**
 * Compares a full result with the last emitted hashes, updating `last` in place, and
 * returns the inserts, updates and deletes.
 */
export function diffRows(
  join: JoinDefinition,
  rows: readonly Row[],
  last: Map<string, number>,
  now: number,
): Evaluation {
  const results: Result[] = [];
  const update: EmittedUpdate = new Map();
  const seen = new Set<string>();
  let missingKeys = 0;
  let duplicateKeys = 0;
  for (const row of rows) {
    const raw = row[join.key];
    if (raw === null || raw === undefined || raw === "") {
      missingKeys++;
      continue;
    }
    const key = String(raw);
    if (seen.has(key)) duplicateKeys++;
    seen.add(key);
    const hash = hashString(JSON.stringify(row));
    const before = last.get(key);
    if (before === hash) continue;
    last.set(key, hash);
    update.set(key, hash);
    const op = before === undefined ? "insert" : "update";
    results.push({ name: join.name, key, row: { ...row }, timestamp: now, _change: { op } });
  }
  for (const key of last.keys()) {
    if (seen.has(key)) continue;
    last.delete(key);
    update.set(key, null);
    results.push({
      name: join.name,
      key,
      row: { [join.key]: key },
      timestamp: now,
      _change: { op: "delete" },
    });
  }
  return { results, update, missingKeys, duplicateKeys };
}
