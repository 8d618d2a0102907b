/**
 * Whether a GROUP BY join can be evaluated by recomputing only the groups a batch
 * touched, and how. The shapes (see `group_term.ts`): a GROUP BY over topic
 * occurrences joined as the delta rewrite handles (`shape.ts`), or over a grouped
 * subquery first in FROM, alone or with topics joined to it; optional HAVING. The
 * join's result key is a group term that is a topic column or payload field of one
 * occurrence, so that the rows of a group are found by an index lookup on it.
 *
 * The rows before grouping, selecting the group term, are themselves a delta-exact
 * join: their delta plan finds the groups that changed rows join now, and the same
 * restrictions narrow the other occurrences when the group term's occurrence is
 * narrowed to a set of groups. */
import { DatabaseSync } from "node:sqlite";
import type { TopicIndex } from "../store/indexes.ts";
import { topicView } from "../store/reader_db.ts";
import { topicDdl } from "../store/topics.ts";
import { hashString } from "../hash.ts";
import type { DeltaAnalysis, DeltaPlan } from "./delta_plan.ts";
import { GroupSql } from "./group_sql.ts";
import { NOW_PARAM } from "./clock_rewrite.ts";
import { groupSource } from "./group_term.ts";
import type { GroupTerm, Shape } from "./shape.ts";

/** Bump when what membership means changes, so recorded membership is rebuilt. */
const GROUP_PLAN_VERSION = 1;

/** The column of the rows before grouping that holds the group term. */
export const GROUP_COLUMN = "__lj_group";

export interface GroupPlan {
  /** The user's statement, parsed with its grouping. */
  shape: Shape;
  /** The occurrence whose row holds the result key's group term. */
  occ: number;
  /** The group term as SQL over that occurrence's topic columns, as an index covers it. */
  lookup: string;
  /** The group term as written, for the startup log. */
  term: string;
  /** How many columns the statement returns. */
  columns: number;
  /** Changes with the SQL, the result key or the plan: membership recorded under another is stale. */
  fingerprint: string;
}

/** The blockers (from `explainBlockers`) that grouping alone causes. */
export const GROUPING_BLOCKER = /^it (aggregates|groups rows)\b/;

/**
 * Analyses a statement whose only delta blockers are aggregation and grouping.
 * `db` holds the topics' tables; `delta` is delta_plan's own analysis: of the rows
 * before grouping as a join, and of the statement's occurrences (it must read no
 * topic elsewhere, e.g. in a HAVING subquery). The plan returned is that of the
 * rows, with `group` set and the group term's index added to its indexes.
 */
export function analyzeGroups(
  db: DatabaseSync,
  sql: string,
  topics: readonly string[],
  key: string | undefined,
  blockers: readonly string[],
  delta: {
    rows: (sql: string) => DeltaAnalysis;
    occurrences: (shape: Shape) => string | undefined;
  },
): DeltaAnalysis {
  const refuse = (why: string): DeltaAnalysis => ({
    exact: false,
    reason: `${blockers.join("; ")}, ${why}`,
  });
  if (key === undefined) return refuse("and no result key was given");
  const columns = db.prepare(sql).columns().map((c) => c.name);
  const source = groupSource(db, sql, topics, columns, key);
  if (typeof source === "string") return refuse(source);
  const { shape, term, text } = source;
  const elsewhere = delta.occurrences(shape);
  if (elsewhere) return refuse(`and ${elsewhere}`);
  const index = termIndex(shape, term);
  if (typeof index === "string") return refuse(index);
  if (clockReads(sql) > clockReads(source.rowsSql)) {
    // Bounds in WHERE and ON are the rows' (see clock_bound.ts); elsewhere the groups'
    // values would change with no row crossing anything.
    return refuse(
      "and it reads the clock outside its WHERE and ON clauses, so its groups change " +
        "without new data",
    );
  }
  const rows = delta.rows(source.rowsSql);
  if (!rows.exact) {
    return refuse(`and its rows before grouping are not delta-exact: ${rows.reason}`);
  }
  const order = (s: Shape) => s.occurrences.map((o) => o.topic).join(",");
  if (order(rows.plan.shape) !== order(shape)) {
    return refuse("and its rows before grouping read its topics in another order");
  }
  const group: GroupPlan = {
    shape,
    occ: term.occ,
    lookup: index.lookup,
    term: text,
    columns: columns.length,
    fingerprint: "g" + hashString(JSON.stringify({ v: GROUP_PLAN_VERSION, sql: shape.sql, key }))
      .toString(36),
  };
  const plan: DeltaPlan = {
    ...rows.plan,
    indexes: [...rows.plan.indexes, ...index.index ? [index.index] : []],
    group,
  };
  const broken = checkGroupRewrite(plan, topics);
  if (broken) return refuse(broken);
  return { exact: true, plan };
}

/** How many times a statement (its clock reads rewritten by `bindClock`) reads the clock. */
function clockReads(sql: string): number {
  return sql.split(NOW_PARAM).length - 1;
}

function termIndex(
  shape: Shape,
  term: GroupTerm,
): { lookup: string; index?: TopicIndex } | string {
  const topic = shape.occurrences[term.occ].topic;
  if ("path" in term) {
    const index: TopicIndex = { topic, path: term.path, as: term.asText ? "text" : "json" };
    const field = `json_extract(payload, '${term.path.replaceAll("'", "''")}')`;
    return { lookup: term.asText ? `CAST(${field} AS TEXT)` : field, index };
  }
  if (term.column === "key" || term.column === "timestamp") return { lookup: term.column };
  return `and its key column is ${term.column}, which no index answers; group by key, timestamp ` +
    "or a payload field";
}

/**
 * Prepares the statements the plan generates against two attached shards, so that a
 * rewrite SQLite would refuse is caught here and the join runs in full instead.
 */
function checkGroupRewrite(plan: DeltaPlan, topics: readonly string[]): string | undefined {
  const db = new DatabaseSync(":memory:");
  try {
    for (const s of [0, 1]) {
      db.exec(`ATTACH ':memory:' AS s${s}`);
      for (const topic of topics) db.exec(topicDdl(topic, `s${s}`));
    }
    for (const topic of topics) db.exec(topicView(topic, 2));
    for (const perShard of [true, false]) {
      const sql = new GroupSql(plan, 2, { perShard });
      const occs = plan.shape.occurrences.map((o) => o.index);
      for (const statement of [sql.narrowed(), sql.all(), sql.drive(occs)]) db.prepare(statement);
    }
    return undefined;
  } catch (error) {
    return `the group rewrite does not prepare (${(error as Error).message})`;
  } finally {
    db.close();
  }
}
