/**
 * Whether a GROUP BY join can be evaluated by recomputing only the groups a batch
 * touched, and how. The shape: one SELECT over topic occurrences joined as the delta
 * rewrite handles (`shape.ts`), a top-level GROUP BY, optional HAVING; the join's
 * result key is a select item that is also a GROUP BY term, and is a topic column or
 * payload field of one occurrence (its "group term"), so that the rows of a group
 * are found by an index lookup on that occurrence.
 *
 * The rows before grouping (the statement up to GROUP BY, selecting the group term)
 * are themselves a delta-exact join: their delta plan finds the groups that changed
 * rows join now, and the same restrictions narrow the other occurrences when the
 * group term's occurrence is narrowed to a set of groups.
 */
import { DatabaseSync } from "node:sqlite";
import type { TopicIndex } from "../store/indexes.ts";
import { topicView } from "../store/reader_db.ts";
import { topicDdl } from "../store/topics.ts";
import { hashString } from "./emitted.ts";
import type { DeltaAnalysis, DeltaPlan } from "./delta_plan.ts";
import { GroupSql } from "./group_sql.ts";
import { isOp, isWord, tokenize } from "./sql_tokens.ts";
import {
  type Grouping,
  type GroupTerm,
  type NestedShape,
  parseNestedShape,
  parseShape,
  type Shape,
  ShapeProblem,
} from "./shape.ts";

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
  if (readsClock(sql)) {
    // Rows that cross a clock bound are changes that no write reports: not handled here.
    return refuse(
      "and it reads the clock ('now', CURRENT_TIMESTAMP), so its groups change " +
        "without new data",
    );
  }
  const columns = db.prepare(sql).columns().map((c) => c.name);
  const source = grouped(db, sql, topics, columns, key);
  if (typeof source === "string") return refuse(source);
  const { shape, grouping } = source;
  const elsewhere = delta.occurrences(shape);
  if (elsewhere) return refuse(`and ${elsewhere}`);
  const found = groupTerm(db, sql, shape, grouping, source.columns, source.key);
  if (typeof found === "string") return refuse(found);
  const { term, text } = found;
  const index = termIndex(shape, term);
  if (typeof index === "string") return refuse(index);
  const rowsSql = `SELECT ${text} AS ${GROUP_COLUMN} ${sql.slice(shape.fromAt, grouping.at)}`;
  const rows = delta.rows(rowsSql);
  if (!rows.exact) {
    return refuse(`and its rows before grouping are not delta-exact: ${rows.reason}`);
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

/**
 * The grouping that holds the key's group term: the statement's own, or (for a GROUP BY
 * over one grouped subquery) the subquery's, with the subquery column the key reads.
 * The shape returned has the statement's end and ORDER BY.
 */
function grouped(
  db: DatabaseSync,
  sql: string,
  topics: readonly string[],
  columns: string[],
  key: string,
): { shape: Shape; grouping: Grouping; columns: string[]; key: string } | string {
  let problem: ShapeProblem;
  try {
    const shape = parseShape(sql, topics, { grouped: true });
    if (!shape.grouping) {
      return "without GROUP BY: one result over all rows, which every change touches";
    }
    return { shape, grouping: shape.grouping, columns, key };
  } catch (error) {
    if (!(error instanceof ShapeProblem)) throw error;
    problem = error;
  }
  let nested: NestedShape | undefined;
  try {
    nested = parseNestedShape(sql, topics);
  } catch (error) {
    if (error instanceof ShapeProblem) return `and ${error.message}`;
    throw error;
  }
  if (!nested) {
    return /subquery/.test(problem.message)
      ? "and it joins a subquery in FROM with a topic; group evaluation takes topics, or one " +
        "grouped subquery alone, in FROM (join the topic inside the subquery and group by its " +
        "key there too)"
      : `and ${problem.message}`;
  }
  const { inner, outer, alias } = nested;
  const at = columns.indexOf(key);
  if (at < 0) return `and ${key} is not a result column`;
  if (outer.select.some((s) => s.star) || outer.select.length !== columns.length) {
    return "and its select list has *; list the columns";
  }
  const item = outer.select[at];
  const name = (token: string) => /^(word|quoted):(.*)$/s.exec(token)?.[2];
  const column = item.tokens.length === 1
    ? name(item.tokens[0])
    : item.tokens.length === 3 && name(item.tokens[0])?.toLowerCase() === alias &&
        item.tokens[1] === "op:."
    ? name(item.tokens[2])
    : undefined;
  const text = sql.slice(item.span.start, item.span.end);
  if (column === undefined) {
    return `and the key column ${key} (${text}) is not a column of its subquery ${alias}`;
  }
  if (!isGroupTerm(db, outer, at, sql.slice(nested.from.start, nested.from.end))) {
    return `and the key column ${key} (${text}) is not a GROUP BY term; key the join on a ` +
      "grouped column";
  }
  if (!inner.grouping) return `and its subquery ${alias} does not GROUP BY`;
  const innerColumns = db.prepare(sql.slice(nested.innerSql.start, nested.innerSql.end))
    .columns().map((c) => c.name);
  const innerKey = innerColumns.find((c) => c.toLowerCase() === column.toLowerCase());
  if (innerKey === undefined) return `and ${column} is not a column of its subquery ${alias}`;
  return { shape: inner, grouping: inner.grouping, columns: innerColumns, key: innerKey };
}

/** Whether select item `at` is a GROUP BY term (`from`: the FROM clause, to resolve names). */
function isGroupTerm(
  db: DatabaseSync,
  grouping: Grouping,
  at: number,
  from: string,
): boolean {
  const item = grouping.select[at];
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  return grouping.groupBy.some((g) => {
    if (g.position !== undefined) return g.position === at + 1;
    if (same(g.tokens, item.tokens)) return true;
    // A name that no FROM item has is the alias of a select item (SQLite's rule for GROUP BY).
    if (!item.alias || !same(g.tokens, [`word:${item.alias}`])) return false;
    try {
      db.prepare(`SELECT ${item.alias} ${from}`);
      return false;
    } catch {
      return true;
    }
  });
}

/**
 * The select item that is the result key, if it is a GROUP BY term and a topic column
 * or payload field; otherwise why not.
 */
function groupTerm(
  db: DatabaseSync,
  sql: string,
  shape: Shape,
  grouping: Grouping,
  columns: string[],
  key: string,
): { term: GroupTerm; text: string } | string {
  const at = columns.indexOf(key);
  if (at < 0) return `and ${key} is not a result column`;
  if (grouping.select.some((s) => s.star) || grouping.select.length !== columns.length) {
    return "and its select list has *; list the columns";
  }
  const item = grouping.select[at];
  const text = sql.slice(item.span.start, item.span.end);
  const grouped = isGroupTerm(db, grouping, at, sql.slice(shape.fromAt, grouping.at));
  if (!grouped) {
    return `and the key column ${key} (${text}) is not a GROUP BY term; ` +
      "key the join on a grouped column";
  }
  if (!item.term) {
    return `and the key column ${key} (${text}) is not a topic column or ` +
      "payload field (json_extract(x.payload, '$.field'), x.key), so its groups cannot be looked up";
  }
  return { term: item.term, text };
}

const CLOCK = ["date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff"];

/** Whether `sql` reads the clock: `'now'`, `CURRENT_TIMESTAMP` and kin, or `date()` without arguments. */
function readsClock(sql: string): boolean {
  const t = tokenize(sql);
  return t.some((token, i) =>
    (token.kind === "string" && token.value.toLowerCase() === "now") ||
    isWord(token, "current_time", "current_date", "current_timestamp") ||
    (isWord(token, ...CLOCK) && isOp(t[i + 1], "(") && isOp(t[i + 2], ")"))
  );
}

/** How a group term is looked up by an index: the key, the timestamp or a payload index. */
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
