/**
 * Which group each row of a GROUP BY join belonged to when its group was last
 * evaluated, kept in meta.db: for every topic occurrence, the key of the source row
 * and the group it contributed to. A changed source row leads to the groups it was
 * in before the change (its old values are gone after an upsert or delete).
 *
 * Groups are SQL values (text or numbers, compared as SQLite compares them), kept
 * with their type: `7` and `'7'` are different groups, as in GROUP BY.
 */
import type { StatementSync } from "node:sqlite";
import type { Meta } from "../store/meta.ts";

export type Group = string | number;

/** One row's part in a group: `[occurrence, source key, group]`. */
export type Member = [occ: number, sourceKey: string, group: Group];

/** Changes to membership, written with the delivery they belong to. */
export interface MembershipUpdate {
  /** Forget every recorded member of this join first (a rebuild). */
  clear?: boolean;
  drop: Member[];
  add: Member[];
}

/** A member as one string, to compare sets of members (types kept: 7 and "7" differ). */
export const memberId = (m: Member) => `${m[0]}\u0000${m[1]}\u0000${groupId(m[2])}`;

/** A group as one string, types kept. */
export const groupId = (g: Group) => JSON.stringify(g);

/** Drops what a join recorded as GROUP BY membership, if anything (it no longer runs by group). */
export function forgetMembers(meta: Meta, join: string): void {
  const table = meta.db.prepare(
    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'join_groups'",
  ).get();
  if (table) meta.db.prepare("DELETE FROM join_groups WHERE join_name = ?").run(join);
}

export class GroupMembers {
  readonly #groupsOf: StatementSync;
  readonly #members: StatementSync;
  readonly #add: StatementSync;
  readonly #drop: StatementSync;
  readonly #clear: StatementSync;

  constructor(readonly meta: Meta, readonly join: string) {
    // `grp` has no declared type, so it keeps the value's type as GROUP BY does.
    meta.db.exec(`
      CREATE TABLE IF NOT EXISTS join_groups (
        join_name TEXT NOT NULL,
        occ INTEGER NOT NULL,
        source_key TEXT NOT NULL,
        grp NOT NULL,
        PRIMARY KEY (join_name, occ, source_key, grp)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS join_groups_by_group ON join_groups (join_name, grp);`);
    // CROSS JOIN keeps the keys as the outer loop: a primary-key lookup per key, never
    // a scan of the join's members (which the planner otherwise picks for DISTINCT).
    this.#groupsOf = meta.db.prepare(
      `SELECT DISTINCT m.grp FROM json_each(?) AS k CROSS JOIN join_groups AS m
       WHERE m.join_name = ? AND m.occ = ? AND m.source_key = k.value`,
    );
    this.#members = meta.db.prepare(
      `SELECT m.occ, m.source_key, m.grp FROM json_each(?) AS g CROSS JOIN join_groups AS m
       WHERE m.join_name = ? AND m.grp = g.value`,
    );
    this.#add = meta.db.prepare(
      "INSERT OR IGNORE INTO join_groups (join_name, occ, source_key, grp) VALUES (?, ?, ?, ?)",
    );
    this.#drop = meta.db.prepare(
      "DELETE FROM join_groups WHERE join_name = ? AND occ = ? AND source_key = ? AND grp = ?",
    );
    this.#clear = meta.db.prepare("DELETE FROM join_groups WHERE join_name = ?");
  }

  /** The groups that rows with one of `keys` in occurrence `occ` belonged to. */
  groupsOf(occ: number, keys: readonly string[]): Group[] {
    return this.#groupsOf.all(JSON.stringify(keys), this.join, occ).map((r) => r.grp as Group);
  }

  /** Every recorded member of `groups`. */
  members(groups: readonly Group[]): Member[] {
    return this.#members.all(JSON.stringify(groups), this.join).map((
      r,
    ) => [Number(r.occ), String(r.source_key), r.grp as Group]);
  }

  /** Applies `update`; call it inside the transaction that records the delivery. */
  apply(update: MembershipUpdate): void {
    if (update.clear) this.#clear.run(this.join);
    for (const [occ, key, group] of update.drop) this.#drop.run(this.join, occ, key, group);
    // In key order, so that a large update appends to B-tree pages.
    const adds = [...update.add].sort((a, b) =>
      a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)
    );
    for (const [occ, key, group] of adds) this.#add.run(this.join, occ, key, group);
  }
}
