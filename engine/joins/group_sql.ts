/**
 * The SQL text of a GROUP BY join's evaluations (see `group_plan.ts`):
 * - `drive`: the rows before grouping that changed keys join now, with their group;
 * - `narrowed`: the user's statement over only the groups given (its GROUP BY and
 *   HAVING intact), and, in the same statement so that both see one snapshot, every
 *   row of those groups with its sources (the groups' membership);
 * - `all`: the same over every group.
 * The group term's occurrence is narrowed by an index lookup on the term, the other
 * occurrences through the restrictions the join's delta plan derives from it.
 */
import type { DeltaPlan } from "./delta_plan.ts";
import { DeltaSql, type DeltaSqlOptions, sourceColumn } from "./delta_sql.ts";
import { GROUP_COLUMN, type GroupPlan } from "./group_plan.ts";

/** The column that tells a member row (`[group, source keys…]` as JSON) from a result row (NULL). */
export const MEMBER_COLUMN = "__lj_member";

export class GroupSql {
  readonly group: GroupPlan;
  /** Over the rows before grouping. */
  readonly #rows: DeltaSql;
  /** Over the user's statement. */
  readonly #results: DeltaSql;

  constructor(plan: DeltaPlan, shardCount: number, opts: DeltaSqlOptions = {}) {
    if (!plan.group) throw new TypeError("GroupSql needs the plan of a GROUP BY join");
    this.group = plan.group;
    this.#rows = new DeltaSql(plan, shardCount, opts);
    this.#results = new DeltaSql({ ...plan, shape: plan.group.shape }, shardCount, opts);
  }

  /** Rows before grouping that the keys given for `occs` join (see `DeltaSql.drive`). */
  drive(occs: readonly number[]): string {
    return this.#rows.drive(occs);
  }

  params(keys: readonly (readonly string[])[]): string[] {
    return this.#rows.params(keys);
  }

  /** Result rows and member rows of the groups listed as a JSON array in `?1`. */
  narrowed(): string {
    const g = this.group.occ;
    const { ctes, names } = this.#results.narrowed(
      g,
      () => `${this.group.lookup} IN (SELECT value FROM json_each(?1))`,
      "__lj_g",
    );
    const results = this.#results.main(names, g, false);
    return `WITH ${ctes.join(",\n")}\n${this.#both(results, this.#rows.main(names, g))}`;
  }

  /** Result rows and member rows of every group. */
  all(): string {
    return this.#both(this.#results.main(new Map(), undefined, false), this.#rows.full());
  }

  #both(results: string, rows: string): string {
    const n = this.#rows.plan.shape.occurrences.length;
    // `|| ''` drops the JSON subtype a json_extract of an object or array carries, so
    // that json_array keeps such a group as the text it is compared as.
    const group = `iif(typeof(${GROUP_COLUMN}) = 'text', ${GROUP_COLUMN} || '', ${GROUP_COLUMN})`;
    const member = [group, ...Array.from({ length: n }, (_, i) => sourceColumn(i))];
    const padding = Array.from({ length: this.group.columns }, () => "NULL").join(", ");
    return `SELECT NULL AS ${MEMBER_COLUMN}, * FROM (${results})\nUNION ALL\n` +
      `SELECT json_array(${member.join(", ")}), ${padding} FROM (${rows})`;
  }
}
