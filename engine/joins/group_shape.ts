/**
 * The shapes of a GROUP BY over a grouped subquery in FROM, as group evaluation needs
 * them (see `group_plan.ts`):
 * - the subquery alone: `SELECT … FROM (<subquery>) q [WHERE …] GROUP BY …` (Nexmark q4);
 * - the subquery first, then topics joined to it with ON:
 *   `SELECT … FROM (<subquery>) w JOIN auctions a ON a.key = w.auction … GROUP BY …`.
 * The occurrences of the subquery come first, then those joined to it; every span is
 * an offset in the whole statement, so that the rewrite renames them in place.
 */
import {
  COMPOUND,
  type Grouping,
  NOT_ALIAS,
  Parser,
  type Shape,
  ShapeProblem,
  type Span,
} from "./shape.ts";
import { isOp, isWord, nameOf, type Token, tokenize } from "./sql_tokens.ts";

export interface SubqueryShape {
  /**
   * The statement: the subquery's occurrences, then those joined to it; equalities
   * and mentions of the subquery and of the ON clauses after it; the statement's end
   * and ORDER BY.
   */
  shape: Shape;
  /** The subquery, parsed with its grouping. */
  inner: Shape;
  /** Where the subquery's text is. */
  innerSql: Span;
  alias: string;
  /** The statement's own select list and GROUP BY. */
  outer: Grouping;
  /** The statement's FROM clause and WHERE, up to its GROUP BY. */
  from: Span;
  /** The JOINs after the subquery, up to the statement's WHERE or GROUP BY (empty if none). */
  joins: Span;
  /** Each `alias.column` in `joins`: a column of the subquery read in an ON clause. */
  refs: { span: Span; column: string }[];
}

/**
 * Parses `sql` as a GROUP BY over a grouped subquery; undefined when its FROM clause
 * does not start with a subquery. Throws `ShapeProblem` for what the shape cannot be.
 */
export function parseSubqueryShape(
  sql: string,
  topics: readonly string[],
): SubqueryShape | undefined {
  let t: Token[];
  try {
    t = tokenize(sql);
  } catch (error) {
    throw new ShapeProblem((error as Error).message);
  }
  while (t.length && isOp(t.at(-1), ";")) t.pop();
  const outer = new Parser(sql, t, topics, true);
  const top = (i: number, ...words: string[]) => outer.depth[i] === 0 && isWord(t[i], ...words);
  const from = t.findIndex((_, i) => top(i, "from"));
  if (!isWord(t[0], "select") || from < 0 || !isOp(t[from + 1], "(")) return undefined;
  if (!isWord(t[from + 2], "select")) return undefined;
  const close = outer.close(from + 1);
  let i = close + 1;
  if (isWord(t[i], "as")) i++;
  const alias = nameOf(t[i]);
  if (alias === undefined || (t[i].kind === "word" && NOT_ALIAS.has(t[i].value))) {
    throw new ShapeProblem("its subquery in FROM has no alias");
  }
  i++;
  const clause = (word: string) => t.findIndex((_, j) => j > close && top(j, word));
  for (const [word, name] of [["window", "WINDOW"], ["limit", "LIMIT"]]) {
    if (clause(word) >= 0) throw new ShapeProblem(`it has a ${name} clause`);
  }
  if (t.some((_, j) => top(j, ...COMPOUND))) throw new ShapeProblem("it is a compound SELECT");
  const where = clause("where");
  const group = clause("group");
  if (group < 0) throw new ShapeProblem("it reads a subquery in FROM without GROUP BY");
  const order = clause("order");
  const groupEnd = [clause("having"), order, t.length].find((j) => j > group)!;
  const joinsEnd = where >= 0 ? where : group;
  const inner = new Parser(sql, t.slice(from + 2, close), topics, true).parse();
  const k = inner.occurrences.length;
  // The statement's own FROM items continue the subquery's occurrences.
  outer.occurrences.push(...inner.occurrences);
  if (i < joinsEnd) outer.parseFrom(i, joinsEnd, false);
  const joined = outer.occurrences.slice(k);
  const loose = joined.find((o) => !outer.ons.has(o.index));
  if (loose) {
    throw new ShapeProblem(
      `it joins ${loose.alias} to its subquery without ON; write JOIN ${loose.topic} ` +
        `${loose.alias} ON …`,
    );
  }
  const innerAliases = new Set(inner.occurrences.map((o) => o.alias));
  const clash = joined.find((o) => innerAliases.has(o.alias) || o.alias === alias);
  if (clash) {
    throw new ShapeProblem(`${clash.alias} names both a topic and a table inside the subquery`);
  }
  for (const [occ, range] of outer.ons) outer.conjuncts(range, occ);
  // The statement's WHERE is not part of the rows before grouping: only its mentions count.
  const equalities = [...inner.equalities, ...outer.equalities];
  if (where >= 0) outer.conjuncts([where + 1, group], "where");
  const refs: SubqueryShape["refs"] = [];
  for (let j = i; j + 2 < joinsEnd; j++) {
    if (nameOf(t[j]) === alias && isOp(t[j + 1], ".") && nameOf(t[j + 2]) !== undefined) {
      refs.push({ span: { start: t[j].start, end: t[j + 2].end }, column: nameOf(t[j + 2])! });
    }
  }
  const end = t.at(-1)!.end;
  const orderBy = order >= 0 ? { start: t[order].start, end } : undefined;
  return {
    shape: {
      ...inner,
      occurrences: outer.occurrences,
      equalities,
      mentions: [...inner.mentions, ...outer.mentions],
      end,
      orderBy,
    },
    inner,
    innerSql: { start: t[from + 2].start, end: t[close - 1].end },
    alias,
    outer: outer.grouping(from, group, groupEnd),
    from: { start: t[from].start, end: t[group].start },
    joins: { start: t[i].start, end: t[joinsEnd].start },
    refs,
  };
}
