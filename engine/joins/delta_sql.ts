/**
 * The SQL text of a join's delta queries. Each is the user's statement with its topic
 * names replaced by small materialized sets: the changed rows of the driving topic,
 * then, for each other topic, the rows an index lookup finds for them. SQLite then
 * joins sets of the size of the change, whatever the join order it picks, and
 * every ON, WHERE and result expression runs exactly as written.
 */
import { shardOf } from "../store/fnv.ts";
import { TOPIC_COLUMNS } from "../store/reader_db.ts";
import type { DeltaPlan } from "./delta_plan.ts";
import { quoteName } from "./sql_tokens.ts";

/** The result column holding the key of occurrence `i`'s source row (NULL when outer-joined and unmatched). */
export const sourceColumn = (i: number) => `__lj_k${i}`;

export interface DeltaSqlOptions {
  /**
   * Read each shard's table directly and send each shard only its own keys (default),
   * instead of going through the topic views, which probe every shard for every key.
   */
  perShard?: boolean;
}

export class DeltaSql {
  readonly #cache = new Map<string, string>();
  readonly perShard: boolean;

  constructor(
    readonly plan: DeltaPlan,
    readonly shardCount: number,
    opts: DeltaSqlOptions = {},
  ) {
    this.perShard = opts.perShard ?? true;
  }

  /** The whole query, with the source key of each occurrence added to every row. */
  full(): string {
    return this.main(new Map());
  }

  /**
   * One statement: for each occurrence in `occs`, the result rows in which that
   * occurrence's row is one of the keys given for it (see `params`).
   */
  drive(occs: readonly number[]): string {
    const id = occs.join(",");
    let sql = this.#cache.get(id);
    if (sql === undefined) {
      sql = this.#drive(occs);
      this.#cache.set(id, sql);
    }
    return sql;
  }

  /** Parameters for `drive(occs)`, given the keys for each of `occs` in the same order. */
  params(keys: readonly (readonly string[])[]): string[] {
    if (!this.perShard) return keys.map((k) => JSON.stringify(k));
    const out: string[] = [];
    for (const list of keys) {
      const byShard: string[][] = Array.from({ length: this.shardCount }, () => []);
      for (const key of list) byShard[shardOf(key, this.shardCount)].push(key);
      for (const shard of byShard) out.push(JSON.stringify(shard));
    }
    return out;
  }

  #drive(occs: readonly number[]): string {
    const ctes: string[] = [];
    const mains: string[] = [];
    let param = 0;
    for (const j of occs) {
      const narrowed = this.narrowed(
        j,
        () => `key IN (SELECT value FROM json_each(?${++param}))`,
        `__lj_${j}_`,
      );
      ctes.push(...narrowed.ctes);
      mains.push(this.main(narrowed.names, j));
    }
    return `WITH ${ctes.join(",\n")}\n${mains.join("\nUNION ALL\n")}`;
  }

  /**
   * Materialized sets that narrow occurrence `j` to its rows where `where` holds (SQL
   * over its topic's columns, asked once per shard) and each occurrence its
   * restrictions reach to the rows that can join them; `names` maps each narrowed
   * occurrence to its set, named `<prefix><occurrence>`, for `main`.
   */
  narrowed(
    j: number,
    where: () => string,
    prefix: string,
  ): { ctes: string[]; names: Map<number, string> } {
    const { shape, drives } = this.plan;
    const name = (i: number) => quoteName(`${prefix}${i}`);
    const names = new Map<number, string>([[j, name(j)]]);
    const ctes = [`${name(j)} AS MATERIALIZED (${this.#arms(shape.occurrences[j].topic, where)})`];
    for (const r of drives[j]) {
      names.set(r.occ, name(r.occ));
      const rows = this.#arms(
        shape.occurrences[r.occ].topic,
        () => `${r.lookup} IN (SELECT ${r.value} FROM ${name(r.from)})`,
      );
      ctes.push(`${name(r.occ)} AS MATERIALIZED (${rows})`);
    }
    return { ctes, names };
  }

  /** `SELECT <topic columns> FROM <topic> WHERE <where>`, per shard or over the view. */
  #arms(topic: string, where: () => string): string {
    if (!this.perShard) return `SELECT ${TOPIC_COLUMNS} FROM ${quoteName(topic)} WHERE ${where()}`;
    return Array.from(
      { length: this.shardCount },
      (_, s) => `SELECT ${TOPIC_COLUMNS} FROM s${s}.${quoteName(topic)} WHERE ${where()}`,
    ).join(" UNION ALL ");
  }

  /**
   * The user's statement with occurrences renamed per `names`, the driving
   * occurrence's LEFT JOIN made inner, source keys added (unless `sources` is false)
   * and ORDER BY dropped.
   */
  main(names: Map<number, string>, driving?: number, sources = true): string {
    const { shape } = this.plan;
    const edits: { start: number; end: number; text: string }[] = [];
    for (const o of shape.occurrences) {
      const name = names.get(o.index);
      if (name) {
        const text = name + (o.hasAlias ? "" : ` AS ${quoteName(o.topic)}`);
        edits.push({ ...o.name, text });
      }
      if (o.index === driving && o.joinSpan) edits.push({ ...o.joinSpan, text: "JOIN" });
    }
    if (sources) {
      const columns = shape.occurrences
        .map((o) => `${quoteName(o.alias)}.key AS ${sourceColumn(o.index)}`)
        .join(", ");
      edits.push({ start: shape.fromAt, end: shape.fromAt, text: `, ${columns}\n` });
    }
    if (shape.orderBy) edits.push({ ...shape.orderBy, text: "" });
    edits.sort((a, b) => a.start - b.start);
    let sql = "";
    let at = 0;
    for (const edit of edits) {
      sql += shape.sql.slice(at, edit.start) + edit.text;
      at = edit.end;
    }
    return sql + shape.sql.slice(at, shape.end);
  }
}
