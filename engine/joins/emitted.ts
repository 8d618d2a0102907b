/**
 * What each join last delivered: a hash of the row per result key, and how far into
 * each shard's writes the join has got. Both live in `meta.db` and are updated in one
 * transaction after the results are delivered, so a restart neither skips nor repeats
 * a settled change; at worst it delivers the results in flight again.
 *
 * A delta-evaluated join also records each result's provenance: the key of the source
 * row behind it in every topic occurrence (`sources`, beside the hash), and the same
 * pairs indexed by source key, so that a changed source row leads to the results it
 * produced before.
 */
import type { StatementSync } from "node:sqlite";
import type { Meta } from "../store/meta.ts";

/** A row hash, or `null` when the key no longer has a result. */
export type EmittedUpdate = Map<string, number | null>;

/**
 * The key of the source row behind a result in each topic occurrence of the join's
 * FROM clause, in order; `null` where a LEFT JOIN found no match.
 */
export type Sources = (string | null)[];

/** What is recorded about one emitted result. */
export interface Emitted {
  hash: number;
  /** Null when the join did not record provenance for it. */
  sources: Sources | null;
}

/** Provenance to record with an update: for each result key, its sources before and after. */
export interface ProvenanceUpdate {
  changes: Map<string, { before: Sources | null; after: Sources | null }>;
  /** The delta plan the provenance belongs to (see `delta_plan.ts`), when it changes. */
  plan?: string;
  /** More of the evaluator's state to write in the same transaction (e.g. group membership). */
  writes?: () => void;
  /** The now a clock-bounded join's results were evaluated at (see `clock_evaluator.ts`). */
  clock?: number;
}

export class EmittedState {
  readonly #select: StatementSync;
  readonly #upsert: StatementSync;
  readonly #remove: StatementSync;
  readonly #all: StatementSync;
  readonly #count: StatementSync;
  readonly #entries: StatementSync;
  readonly #setSources: StatementSync;
  readonly #bySource: StatementSync;
  readonly #addSource: StatementSync;
  readonly #dropSource: StatementSync;
  readonly #clearSources: StatementSync;
  readonly #clearReverse: StatementSync;

  constructor(readonly meta: Meta, readonly join: string) {
    meta.db.exec(`
      CREATE TABLE IF NOT EXISTS join_rows (
        join_name TEXT NOT NULL,
        key TEXT NOT NULL,
        hash INTEGER NOT NULL,
        PRIMARY KEY (join_name, key)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS join_sources (
        join_name TEXT NOT NULL,
        occ INTEGER NOT NULL,
        source_key TEXT NOT NULL,
        result_key TEXT NOT NULL,
        PRIMARY KEY (join_name, occ, source_key, result_key)
      ) WITHOUT ROWID;`);
    const columns = meta.db.prepare("SELECT name FROM pragma_table_info('join_rows')").all();
    if (!columns.some((c) => c.name === "sources")) {
      meta.db.exec("ALTER TABLE join_rows ADD COLUMN sources TEXT");
    }
    // Lookups take a JSON array of keys: one statement per batch, not one per key.
    this.#select = meta.db.prepare(
      `SELECT key, hash FROM join_rows
       WHERE join_name = ? AND key IN (SELECT value FROM json_each(?))`,
    );
    this.#entries = meta.db.prepare(
      `SELECT key, hash, sources FROM join_rows
       WHERE join_name = ? AND key IN (SELECT value FROM json_each(?))`,
    );
    this.#upsert = meta.db.prepare(
      `INSERT INTO join_rows (join_name, key, hash, sources) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET hash = excluded.hash,
         sources = coalesce(excluded.sources, join_rows.sources)`,
    );
    this.#remove = meta.db.prepare("DELETE FROM join_rows WHERE join_name = ? AND key = ?");
    this.#all = meta.db.prepare("SELECT key, hash, sources FROM join_rows WHERE join_name = ?");
    this.#count = meta.db.prepare("SELECT count(*) AS n FROM join_rows WHERE join_name = ?");
    this.#setSources = meta.db.prepare(
      "UPDATE join_rows SET sources = ? WHERE join_name = ? AND key = ?",
    );
    this.#bySource = meta.db.prepare(
      `SELECT DISTINCT r.key, r.hash, r.sources
       FROM join_sources s JOIN join_rows r ON r.join_name = s.join_name AND r.key = s.result_key
       WHERE s.join_name = ? AND s.occ = ? AND s.source_key IN (SELECT value FROM json_each(?))`,
    );
    this.#addSource = meta.db.prepare(
      `INSERT OR IGNORE INTO join_sources (join_name, occ, source_key, result_key)
       VALUES (?, ?, ?, ?)`,
    );
    this.#dropSource = meta.db.prepare(
      `DELETE FROM join_sources
       WHERE join_name = ? AND occ = ? AND source_key = ? AND result_key = ?`,
    );
    this.#clearSources = meta.db.prepare(
      "UPDATE join_rows SET sources = NULL WHERE join_name = ? AND sources IS NOT NULL",
    );
    this.#clearReverse = meta.db.prepare("DELETE FROM join_sources WHERE join_name = ?");
  }

  /** Every emitted key and its row hash. */
  load(): Map<string, number> {
    const out = new Map<string, number>();
    for (const row of this.#all.iterate(this.join)) out.set(String(row.key), Number(row.hash));
    return out;
  }

  /** The row hashes of `keys` that have been emitted. */
  lookup(keys: Iterable<string>): Map<string, number> {
    const out = new Map<string, number>();
    for (const row of this.#select.all(this.join, JSON.stringify([...keys]))) {
      out.set(String(row.key), Number(row.hash));
    }
    return out;
  }

  /** Hash and provenance of those of `keys` that have been emitted. */
  entries(keys: Iterable<string>): Map<string, Emitted> {
    return this.#read(this.#entries.all(this.join, JSON.stringify([...keys])));
  }

  /** How many results are emitted (a scan of this join's rows in meta.db). */
  count(): number {
    return Number(this.#count.get(this.join)?.n ?? 0);
  }

  /** Hash and provenance of every emitted key. */
  loadEntries(): Map<string, Emitted> {
    return this.#read(this.#all.iterate(this.join));
  }

  #read(rows: Iterable<Record<string, unknown>>): Map<string, Emitted> {
    const out = new Map<string, Emitted>();
    for (const row of rows) {
      const sources = row.sources === null ? null : JSON.parse(String(row.sources)) as Sources;
      out.set(String(row.key), { hash: Number(row.hash), sources });
    }
    return out;
  }

  /** The results whose source in occurrence `occ` is one of `keys`, with hash and provenance. */
  resultsFrom(occ: number, keys: Iterable<string>): Map<string, Emitted> {
    return this.#read(this.#bySource.all(this.join, occ, JSON.stringify([...keys])));
  }

  /** Per shard, the seq up to which every write has been evaluated and delivered. */
  progress(shardCount: number): number[] {
    return Array.from(
      { length: shardCount },
      (_, i) => Number(this.meta.get(`join:${this.join}`, `shard_${i}`) ?? 0),
    );
  }

  /** The delta plan under which the provenance was recorded, if any. */
  plan(): string | undefined {
    return this.meta.get(`join:${this.join}`, "delta_plan");
  }

  /** The now the delivered results of a clock-bounded join were evaluated at, if recorded. */
  clockNow(): number | undefined {
    const value = this.meta.get(`join:${this.join}`, "clock_now");
    return value === undefined ? undefined : Number(value);
  }

  /** Forgets the provenance (a join evaluated in full does not keep it up to date). */
  resetProvenance(): void {
    this.meta.transaction(() => {
      this.#clearSources.run(this.join);
      this.#clearReverse.run(this.join);
      this.meta.delete(`join:${this.join}`, "delta_plan");
      this.meta.delete(`join:${this.join}`, "clock_now");
    });
  }

  /** Records delivered results, their provenance and the progress they cover, atomically. */
  commit(update: EmittedUpdate, progress: readonly number[], provenance?: ProvenanceUpdate): void {
    const changes: ProvenanceUpdate["changes"] = provenance?.changes ?? new Map();
    this.meta.transaction(() => {
      // Rows and index entries go in key order: a large update then appends to B-tree
      // pages instead of splitting pages all over the tables.
      for (const key of [...update.keys()].sort()) {
        const hash = update.get(key)!;
        if (hash === null) {
          this.#remove.run(this.join, key);
        } else {
          const after = changes.get(key)?.after;
          this.#upsert.run(this.join, key, hash, after ? JSON.stringify(after) : null);
        }
      }
      const drops: [number, string, string][] = [];
      const adds: [number, string, string][] = [];
      for (const [key, { before, after }] of changes) {
        before?.forEach((source, occ) => {
          if (source !== null && after?.[occ] !== source) drops.push([occ, source, key]);
        });
        after?.forEach((source, occ) => {
          if (source !== null && before?.[occ] !== source) adds.push([occ, source, key]);
        });
        if (after && !update.has(key)) this.#setSources.run(JSON.stringify(after), this.join, key);
      }
      for (const [occ, source, key] of drops) this.#dropSource.run(this.join, occ, source, key);
      for (const [occ, source, key] of adds.sort(byIndexOrder)) {
        this.#addSource.run(this.join, occ, source, key);
      }
      provenance?.writes?.();
      if (provenance?.plan) this.meta.set(`join:${this.join}`, "delta_plan", provenance.plan);
      if (provenance?.clock !== undefined) {
        this.meta.set(`join:${this.join}`, "clock_now", String(provenance.clock));
      }
      progress.forEach((seq, i) => this.meta.set(`join:${this.join}`, `shard_${i}`, String(seq)));
    });
  }
}

function byIndexOrder(a: [number, string, string], b: [number, string, string]): number {
  return a[0] - b[0] ||
    (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0);
}
