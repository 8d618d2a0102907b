/**
 * Where a GROUP BY join's groups come from: the result key's group term (a topic
 * column or payload field of one occurrence that every row of a group shares) and the
 * rows before grouping, as a join over the same occurrences that the delta machinery
 * evaluates. Three shapes:
 * - a GROUP BY over topics: the key is one of its terms;
 * - a GROUP BY over one grouped subquery: the key is a subquery column that is one of
 *   the subquery's group terms (each subquery group lies in one result group);
 * - a grouped subquery with topics joined to it by ON: the key is a group term of the
 *   statement or a subquery column as above, and each subquery column the ON clauses
 *   read is one of the subquery's group terms, so that the rows before grouping are
 *   the subquery's rows joined to the topics through those terms.
 */
import type { DatabaseSync } from "node:sqlite";
import { GROUP_COLUMN } from "./group_plan.ts";
import { parseSubqueryShape, type SubqueryShape } from "./group_shape.ts";
import { type Grouping, type GroupTerm, parseShape, type Shape, ShapeProblem } from "./shape.ts";
import { quoteName, quoteString } from "./sql_tokens.ts";

export interface GroupSource {
  /** The statement, its occurrences in the order of `rowsSql`'s. */
  shape: Shape;
  term: GroupTerm;
  /** The group term as written. */
  text: string;
  /** The rows before grouping, selecting the group term as `GROUP_COLUMN`. */
  rowsSql: string;
}

/** The groups of `sql`, whose result columns are `columns`, keyed by `key`; or why not. */
export function groupSource(
  db: DatabaseSync,
  sql: string,
  topics: readonly string[],
  columns: string[],
  key: string,
): GroupSource | string {
  let problem: ShapeProblem;
  try {
    const shape = parseShape(sql, topics, { grouped: true });
    if (!shape.grouping) {
      return "without GROUP BY: one result over all rows, which every change touches";
    }
    const found = groupTerm(db, sql, shape, shape.grouping, columns, key);
    if (typeof found === "string") return found;
    return {
      shape,
      ...found,
      rowsSql: rows(found.text, sql.slice(shape.fromAt, shape.grouping.at)),
    };
  } catch (error) {
    if (!(error instanceof ShapeProblem)) throw error;
    problem = error;
  }
  let sub: SubqueryShape | undefined;
  try {
    sub = parseSubqueryShape(sql, topics);
  } catch (error) {
    if (error instanceof ShapeProblem) return `and ${error.message}`;
    throw error;
  }
  if (!sub) {
    return /subquery/.test(problem.message)
      ? "and it joins a subquery in FROM after a topic; put the grouped subquery first in FROM"
      : `and ${problem.message}`;
  }
  return subquerySource(db, sql, sub, columns, key);
}

const rows = (term: string, from: string) => `SELECT ${term} AS ${GROUP_COLUMN} ${from}`;

function subquerySource(
  db: DatabaseSync,
  sql: string,
  sub: SubqueryShape,
  columns: string[],
  key: string,
): GroupSource | string {
  const { inner, outer, alias } = sub;
  if (!inner.grouping) return `and its subquery ${alias} does not GROUP BY`;
  const innerColumns = db.prepare(sql.slice(sub.innerSql.start, sub.innerSql.end)).columns()
    .map((c) => c.name);
  /** The subquery's group term behind its column `name`, or why there is none. */
  const through = (name: string) => {
    const column = innerColumns.find((c) => c.toLowerCase() === name.toLowerCase());
    if (column === undefined) return `and ${name} is not a column of its subquery ${alias}`;
    return groupTerm(db, sql, inner, inner.grouping!, innerColumns, column);
  };
  const at = columns.indexOf(key);
  if (at < 0) return `and ${key} is not a result column`;
  if (outer.select.some((s) => s.star) || outer.select.length !== columns.length) {
    return "and its select list has *; list the columns";
  }
  const item = outer.select[at];
  const text = sql.slice(item.span.start, item.span.end);
  if (!isGroupTerm(db, outer, at, sql.slice(sub.from.start, sub.from.end))) {
    return `and the key column ${key} (${text}) is not a GROUP BY term; key the join on a ` +
      "grouped column";
  }
  const name = (token: string) => /^(word|quoted):(.*)$/s.exec(token)?.[2];
  const column = item.tokens.length === 1
    ? name(item.tokens[0])
    : item.tokens.length === 3 && name(item.tokens[0])?.toLowerCase() === alias &&
        item.tokens[1] === "op:."
    ? name(item.tokens[2])
    : undefined;
  let found: { term: GroupTerm; text: string } | string;
  if (item.term && item.term.occ >= inner.occurrences.length) found = { term: item.term, text };
  else if (column !== undefined) found = through(column);
  else {
    return `and the key column ${key} (${text}) is neither a column of its subquery ${alias} ` +
      "nor a topic column or payload field";
  }
  if (typeof found === "string") return found;
  // The rows before grouping: the subquery's rows, joined as the statement joins them,
  // with each subquery column the ON clauses read replaced by its group term.
  let joins = "";
  let from = sub.joins.start;
  for (const ref of sub.refs) {
    const behind = through(ref.column);
    if (typeof behind === "string") {
      return `and an ON clause reads ${alias}.${ref.column}, which must be a group term of the ` +
        `subquery (${behind.replace(/^and /, "")})`;
    }
    joins += sql.slice(from, ref.span.start) + qualified(inner, behind.term);
    from = ref.span.end;
  }
  joins += sql.slice(from, sub.joins.end);
  const where = inner.whereAt ?? inner.grouping.at;
  const body = `${sql.slice(inner.fromAt, where)} ${joins} ${sql.slice(where, inner.grouping.at)}`;
  return { shape: sub.shape, ...found, rowsSql: rows(qualified(sub.shape, found.term), body) };
}

/**
 * A term as SQL naming its occurrence, so that it reads the same once the subquery's
 * tables and those joined to it share one FROM clause.
 */
function qualified(shape: Shape, term: GroupTerm): string {
  const alias = quoteName(shape.occurrences[term.occ].alias);
  if (!("path" in term)) return `${alias}.${term.column}`;
  const field = `json_extract(${alias}.payload, ${quoteString(term.path)})`;
  return term.asText ? `CAST(${field} AS TEXT)` : field;
}

/** Whether select item `at` is a GROUP BY term (`from`: the FROM clause, to resolve names). */
function isGroupTerm(db: DatabaseSync, grouping: Grouping, at: number, from: string): boolean {
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
  if (!isGroupTerm(db, grouping, at, sql.slice(shape.fromAt, grouping.at))) {
    return `and the key column ${key} (${text}) is not a GROUP BY term; ` +
      "key the join on a grouped column";
  }
  if (!item.term) {
    return `and the key column ${key} (${text}) is not a topic column or ` +
      "payload field (json_extract(x.payload, '$.field'), x.key), so its groups cannot be looked up";
  }
  return { term: item.term, text };
}
