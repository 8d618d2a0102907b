/**
 * Incremental evaluation: the cost of a batch follows the number of keys it changed,
 * not the size of the topics. For every topic occurrence whose topic changed, the
 * join runs with that occurrence narrowed to the changed keys (`delta_sql.ts`);
 * results are merged by key and compared with what was emitted.
 *
 * Deletes need the past: each emitted result records the key of the source row
 * behind it in every occurrence (`Sources`, in meta.db with the emitted hashes). A
 * result that a changed row produced before and that no delta produces now is
 * re-evaluated from its first occurrence's row (which every result row has, LEFT
 * JOINs included); if that yields nothing for the key, the result is deleted.
 */
import type { Readers, Row } from "../store/readers.ts";
import type { Clock, Result } from "../types.ts";
import {
  type Emitted,
  type EmittedState,
  type EmittedUpdate,
  type ProvenanceUpdate,
  type Sources,
} from "./emitted.ts";
import { hashString } from "../hash.ts";
import type { DeltaPlan } from "./delta_plan.ts";
import { DeltaSql, type DeltaSqlOptions, sourceColumn } from "./delta_sql.ts";
import type { Evaluation, Evaluator, JoinDefinition, TopicChanges } from "./evaluator.ts";

export interface DeltaOptions extends DeltaSqlOptions {
  /**
   * Above this many changed keys in one evaluation, or a quarter of the emitted
   * results if that is more, the whole query is re-run instead (still emitting only
   * what changed): a change that large costs about as much either way.
   */
  fullAbove?: number;
}

/** One result row as a delta found it. */
interface Found {
  row: Record<string, unknown>;
  json: string;
  sources: Sources;
}

export class DeltaEvaluator implements Evaluator {
  readonly mode = "delta";
  readonly sql: DeltaSql;
  readonly fullAbove: number;
  readonly #occurrences: number;
  /** Identifies the plan and result key the recorded provenance belongs to. */
  readonly #fingerprint: string;
  /** Results emitted so far, once known. */
  #results: number | undefined;
  /** The next evaluation re-runs the whole query; undefined until meta.db is checked. */
  #rebuildNext: boolean | undefined;

  constructor(
    readonly join: JoinDefinition,
    readonly plan: DeltaPlan,
    readonly readers: Pick<Readers, "all">,
    readonly emitted: EmittedState,
    readonly clock: Clock,
    shardCount: number,
    opts: DeltaOptions = {},
  ) {
    this.sql = new DeltaSql(plan, shardCount, opts);
    this.fullAbove = opts.fullAbove ?? 50_000;
    this.#occurrences = plan.shape.occurrences.length;
    this.#fingerprint = `${plan.fingerprint}:${hashString(join.key).toString(36)}`;
  }

  async evaluate(changes: TopicChanges): Promise<Evaluation> {
    const stale = this.stale();
    let total = 0;
    for (const topic of this.join.topics) total += changes.get(topic)?.size ?? 0;
    if (total > this.fullAbove) this.#results ??= this.emitted.count();
    if (stale || total > Math.max(this.fullAbove, (this.#results ?? 0) / 4)) {
      const evaluation = await this.#rebuild();
      this.#rebuildNext = false;
      return this.#counted(evaluation);
    }
    return this.#counted(await this.#delta(changes));
  }

  /** Keeps the count of emitted results current (it sets the threshold for a full run). */
  #counted(evaluation: Evaluation): Evaluation {
    if (this.#results === undefined) return evaluation;
    for (const result of evaluation.results) {
      if (result._change?.op === "insert") this.#results++;
      if (result._change?.op === "delete") this.#results--;
    }
    return evaluation;
  }

  /** Provenance recorded under another plan or result key (or none) cannot be used. */
  stale(): boolean {
    this.#rebuildNext ??= this.emitted.plan() !== this.#fingerprint;
    return this.#rebuildNext;
  }

  /** After a crash, keys deleted meanwhile are unknown: evaluate everything once. */
  resync(): boolean {
    this.#rebuildNext = true;
    return true;
  }

  /**
   * The statements a delta runs, one per occurrence driving, for EXPLAIN QUERY PLAN:
   * `[driving topic, sql, params]`.
   */
  statements(): [string, string, string[]][] {
    return this.plan.shape.occurrences.map((o) => [
      o.topic,
      this.sql.drive([o.index]),
      this.sql.params([[]]),
    ]);
  }

  async #delta(changes: TopicChanges): Promise<Evaluation> {
    const { occurrences } = this.plan.shape;
    const occs = occurrences.filter((o) => changes.get(o.topic)?.size).map((o) => o.index);
    const keys = occs.map((j) => [...changes.get(occurrences[j].topic)!]);
    const found = new Map<string, Found>();
    const tally = { missingKeys: 0, duplicateKeys: 0 };
    if (occs.length) {
      const rows = await this.readers.all(this.sql.drive(occs), this.sql.params(keys));
      this.#collect(rows, found, tally);
    }
    const known = new Map<string, Emitted>();
    occs.forEach((j, i) => {
      for (const [key, entry] of this.emitted.resultsFrom(j, keys[i])) known.set(key, entry);
    });
    const before = [...known.keys()];
    const roots = new Set<string>();
    for (const key of before) {
      const root = known.get(key)?.sources?.[0];
      if (!found.has(key) && root) roots.add(root);
    }
    if (roots.size) {
      const rows = await this.readers.all(this.sql.drive([0]), this.sql.params([[...roots]]));
      this.#collect(rows, found, tally);
    }
    const others = [...found.keys()].filter((key) => !known.has(key));
    for (const [key, entry] of this.emitted.entries(others)) known.set(key, entry);
    const gone = before.filter((key) => !found.has(key));
    return this.#diff(found, known, gone, tally);
  }

  /** The whole query, compared with everything emitted; records the plan's provenance. */
  async #rebuild(): Promise<Evaluation> {
    const rows = await this.readers.all(this.sql.full());
    const found = new Map<string, Found>();
    const tally = { missingKeys: 0, duplicateKeys: 0 };
    this.#collect(rows, found, tally);
    const known = this.emitted.loadEntries();
    const gone = [...known.keys()].filter((key) => !found.has(key));
    const evaluation = this.#diff(found, known, gone, tally);
    evaluation.provenance!.plan = this.#fingerprint;
    this.#results = known.size;
    return evaluation;
  }

  /** Splits rows into result rows and sources, merging by result key. */
  #collect(
    rows: readonly Row[],
    found: Map<string, Found>,
    tally: { missingKeys: number; duplicateKeys: number },
  ): void {
    const n = this.#occurrences;
    const sourceColumns = Array.from({ length: n }, (_, i) => sourceColumn(i));
    const skip = new Set(sourceColumns);
    const unkeyed = new Set<string>();
    for (const raw of rows) {
      const sources = sourceColumns.map((c) => raw[c] === null ? null : String(raw[c]));
      const row: Record<string, unknown> = {};
      for (const column in raw) if (!skip.has(column)) row[column] = raw[column];
      const value = row[this.join.key];
      if (value === null || value === undefined || value === "") {
        const id = JSON.stringify(sources);
        if (!unkeyed.has(id)) tally.missingKeys++;
        unkeyed.add(id);
        continue;
      }
      const key = String(value);
      const previous = found.get(key);
      if (previous && !sameSources(previous.sources, sources)) tally.duplicateKeys++;
      found.set(key, { row, json: JSON.stringify(row), sources });
    }
  }

  #diff(
    found: Map<string, Found>,
    known: Map<string, Emitted>,
    gone: readonly string[],
    tally: { missingKeys: number; duplicateKeys: number },
  ): Evaluation {
    const now = this.clock.now();
    const name = this.join.name;
    const results: Result[] = [];
    const update: EmittedUpdate = new Map();
    const changes: ProvenanceUpdate["changes"] = new Map();
    for (const [key, f] of found) {
      const hash = hashString(f.json);
      const before = known.get(key);
      if (before?.hash !== hash) {
        update.set(key, hash);
        const op = before === undefined ? "insert" : "update";
        results.push({ name, key, row: f.row, timestamp: now, _change: { op } });
      }
      if (!before?.sources || !sameSources(before.sources, f.sources)) {
        changes.set(key, { before: before?.sources ?? null, after: f.sources });
      }
    }
    for (const key of gone) {
      const before = known.get(key);
      if (!before) continue;
      update.set(key, null);
      changes.set(key, { before: before.sources, after: null });
      results.push({
        name,
        key,
        row: { [this.join.key]: key },
        timestamp: now,
        _change: { op: "delete" },
      });
    }
    return { results, update, provenance: { changes }, ...tally };
  }
}

function sameSources(a: Sources, b: Sources): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}
