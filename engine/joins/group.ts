/**
 * Incremental evaluation of a GROUP BY join: a batch costs what the groups it touched
 * hold, not what the topics hold. The groups a batch touches are those its changed
 * rows join now (the delta of the rows before grouping, `GroupSql.drive`) and those
 * they were in before (their recorded membership, `GroupMembers`). Those groups are
 * recomputed with the user's statement, GROUP BY and HAVING intact, over only their
 * rows (found by an index lookup on the group term), and compared with what was
 * emitted: a new group is an insert, a changed one an update, and one that yields no
 * row any more (its rows gone, or HAVING now false) a delete. The same statement
 * returns the groups' rows with their source keys, so membership is refreshed from
 * the very snapshot the results came from.
 *
 * Every aggregate is recomputed from its group's rows, so min, max, avg and
 * group_concat are as exact as count and sum. Where an aggregate's value depends on
 * the order SQLite reads rows (group_concat without ORDER BY, a bare column beside
 * several rows of equal max), the order is that of the narrowed read, which can
 * differ from a full run.
 */
import type { Readers, Row } from "../store/readers.ts";
import type { Clock, Result } from "../types.ts";
import type { EmittedState, EmittedUpdate } from "./emitted.ts";
import { hashString } from "../hash.ts";
import type { DeltaOptions } from "./delta.ts";
import type { DeltaPlan } from "./delta_plan.ts";
import type { Evaluation, Evaluator, JoinDefinition, TopicChanges } from "./evaluator.ts";
import { GROUP_COLUMN } from "./group_plan.ts";
import { type Group, groupId, GroupMembers, type Member, memberId } from "./group_members.ts";
import { GroupSql, MEMBER_COLUMN } from "./group_sql.ts";

/** What one recomputation returned. */
interface Read {
  /** Result rows by key, with their JSON. */
  found: Map<string, { row: Record<string, unknown>; json: string }>;
  /** The members of the groups read (a member of several rows appears once per row). */
  members: Member[];
  duplicateKeys: number;
}

export class GroupEvaluator implements Evaluator {
  readonly mode = "delta";
  readonly sql: GroupSql;
  readonly members: GroupMembers;
  readonly fullAbove: number;
  readonly #fingerprint: string;
  /** Results emitted so far, once known. */
  #results: number | undefined;
  /** The next evaluation re-runs everything; undefined until meta.db is checked. */
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
    this.sql = new GroupSql(plan, shardCount, opts);
    this.members = new GroupMembers(emitted.meta, join.name);
    this.fullAbove = opts.fullAbove ?? 50_000;
    this.#fingerprint = `${this.sql.group.fingerprint}:${hashString(join.key).toString(36)}`;
  }

  /** Membership recorded under another plan or result key (or none) cannot be used. */
  stale(): boolean {
    this.#rebuildNext ??= this.emitted.plan() !== this.#fingerprint;
    return this.#rebuildNext;
  }

  /** After a crash, the groups of rows deleted meanwhile are unknown: rebuild once. */
  resync(): boolean {
    this.#rebuildNext = true;
    return true;
  }

  /**
   * The statements an evaluation runs, for EXPLAIN QUERY PLAN: `[driving topic, sql,
   * params]`, one per occurrence finding new groups, then the recomputation.
   */
  statements(): [string, string, string[]][] {
    const { occurrences } = this.plan.shape;
    return [
      ...occurrences.map((o): [string, string, string[]] => [
        o.topic,
        this.sql.drive([o.index]),
        this.sql.params([[]]),
      ]),
      [occurrences[this.sql.group.occ].topic, this.sql.narrowed(), ["[]"]],
    ];
  }

  async evaluate(changes: TopicChanges): Promise<Evaluation> {
    if (this.stale()) {
      const evaluation = await this.#everything();
      this.#rebuildNext = false;
      return evaluation;
    }
    const { occurrences } = this.plan.shape;
    const occs = occurrences.filter((o) => changes.get(o.topic)?.size).map((o) => o.index);
    const keys = occs.map((j) => [...changes.get(occurrences[j].topic)!]);
    const touched = new Map<string, Group>();
    const touch = (group: unknown) => {
      if (typeof group === "string" || typeof group === "number") {
        touched.set(groupId(group), group);
      }
    };
    // The rows' groups now (read by a reader thread) and before (from meta.db), at once.
    const now = occs.length
      ? this.readers.all(this.sql.drive(occs), this.sql.params(keys))
      : Promise.resolve([]);
    occs.forEach((j, i) => this.members.groupsOf(j, keys[i]).forEach(touch));
    for (const row of await now) touch(row[GROUP_COLUMN]);
    if (touched.size === 0) return this.#diff(emptyRead(), new Map(), []);
    if (touched.size > this.fullAbove) this.#results ??= this.emitted.count();
    if (touched.size > Math.max(this.fullAbove, (this.#results ?? 0) / 4)) {
      return await this.#everything(touched);
    }
    return await this.#groups([...touched.values()]);
  }

  /** Recomputes `groups` and their membership. */
  async #groups(groups: Group[]): Promise<Evaluation> {
    const read = collect(
      await this.readers.all(this.sql.narrowed(), [JSON.stringify(groups)]),
      this.join.key,
    );
    const keys = new Set(groups.map(String));
    for (const key of read.found.keys()) keys.add(key);
    const known = this.emitted.lookup(keys);
    const evaluation = this.#diff(read, known, [...keys].filter((k) => !read.found.has(k)));
    evaluation.provenance!.writes = this.#membership(read.members, groups);
    return evaluation;
  }

  /**
   * Recomputes every group and compares it with everything emitted. Membership is
   * rewritten whole on a rebuild (no `touched`), else refreshed for the touched groups
   * and those whose result changed.
   */
  async #everything(touched?: Map<string, Group>): Promise<Evaluation> {
    const read = collect(await this.readers.all(this.sql.all()), this.join.key);
    const known = this.emitted.load();
    this.#results = known.size;
    const gone = [...known.keys()].filter((k) => !read.found.has(k));
    if (!touched) {
      const evaluation = this.#diff(read, known, gone);
      const add = read.members; // repeats are ignored when written
      evaluation.provenance = {
        changes: new Map(),
        plan: this.#fingerprint,
        writes: () => this.members.apply({ clear: true, drop: [], add }),
      };
      return evaluation;
    }
    // Refresh the members of the touched groups and of every group whose row changed.
    const changed = new Set(gone);
    for (const [key, f] of read.found) {
      if (known.get(key) !== hashString(f.json)) changed.add(key);
    }
    const groups = new Map(touched);
    for (const [, , group] of read.members) {
      if (changed.has(String(group))) groups.set(groupId(group), group);
    }
    const members = read.members.filter((m) => groups.has(groupId(m[2])));
    const evaluation = this.#diff(read, known, gone);
    evaluation.provenance!.writes = this.#membership(members, [...groups.values()]);
    return evaluation;
  }

  /** The writes that make the recorded members of `groups` those read now, if any differ. */
  #membership(members: readonly Member[], groups: readonly Group[]): (() => void) | undefined {
    const stored = new Map(this.members.members(groups).map((m) => [memberId(m), m]));
    const fresh = new Map(members.map((m) => [memberId(m), m]));
    const drop = [...stored].filter(([id]) => !fresh.has(id)).map(([, m]) => m);
    const add = [...fresh].filter(([id]) => !stored.has(id)).map(([, m]) => m);
    return drop.length || add.length ? () => this.members.apply({ drop, add }) : undefined;
  }

  /** Inserts, updates and deletes against the emitted hashes `known` (kept current). */
  #diff(read: Read, known: Map<string, number>, gone: string[]): Evaluation {
    const now = this.clock.now();
    const name = this.join.name;
    const results: Result[] = [];
    const update: EmittedUpdate = new Map();
    for (const [key, f] of read.found) {
      const hash = hashString(f.json);
      const before = known.get(key);
      if (before === hash) continue;
      known.set(key, hash);
      update.set(key, hash);
      const op = before === undefined ? "insert" : "update";
      results.push({ name, key, row: f.row, timestamp: now, _change: { op } });
    }
    for (const key of gone) {
      if (!known.has(key)) continue;
      known.delete(key);
      update.set(key, null);
      const row = { [this.join.key]: key };
      results.push({ name, key, row, timestamp: now, _change: { op: "delete" } });
    }
    if (this.#results !== undefined) {
      this.#results += results.filter((r) => r._change?.op === "insert").length;
      this.#results -= results.filter((r) => r._change?.op === "delete").length;
    }
    return {
      results,
      update,
      provenance: { changes: new Map() },
      missingKeys: 0,
      duplicateKeys: read.duplicateKeys,
    };
  }
}

function emptyRead(): Read {
  return { found: new Map(), members: [], duplicateKeys: 0 };
}

/** Splits the rows of a `GroupSql` statement into result rows (by `key`) and members. */
function collect(rows: readonly Row[], key: string): Read {
  const read = emptyRead();
  for (const raw of rows) {
    const member = raw[MEMBER_COLUMN];
    if (member !== null && member !== undefined) {
      const [group, ...sources] = JSON.parse(String(member)) as [unknown, ...(string | null)[]];
      if (typeof group !== "string" && typeof group !== "number") continue;
      sources.forEach((source, occ) => {
        if (source !== null) read.members.push([occ, String(source), group]);
      });
      continue;
    }
    const row: Record<string, unknown> = {};
    for (const column in raw) if (column !== MEMBER_COLUMN) row[column] = raw[column];
    const value = row[key];
    if (value === null || value === undefined || value === "") continue;
    const k = String(value);
    if (read.found.has(k)) read.duplicateKeys++;
    read.found.set(k, { row, json: JSON.stringify(row) });
  }
  return read;
}
