/**
 * Joins bounded relative to the clock (`WHERE o.timestamp > (strftime('%s','now') - 3600) * 1000`).
 *
 * Once `bindClock` (`clock_rewrite.ts`) has made every read of the clock the parameter
 * `:__lj_now`, `clockBounds` finds where the statement reads it: a delta stays exact only if
 * every read is in a bound, a conjunct of WHERE or of an ON clause that compares one
 * occurrence's `timestamp`, or one of its payload fields, with an expression of the
 * clock alone. Between two evaluations, the rows whose truth of such a bound can change
 * are exactly those whose timestamp (or field) lies between the bound's values at the
 * two moments: a range read on the timestamp index every topic has, or on an index of
 * the field that the shards then keep (`clock_evaluator.ts`).
 */
import { DatabaseSync } from "node:sqlite";
import { depths, isOp, isWord, nameOf, type Token, tokenize } from "./sql_tokens.ts";
import { NOW_PARAM } from "./clock_rewrite.ts";
import type { Shape } from "./shape.ts";
import { indexExpression, jsonPathProblem, type TopicIndex } from "../store/indexes.ts";

/**
 * One bound: occurrence `occ`'s timestamp, or a payload field, compared with `expr`, an
 * expression of `NOW_PARAM` only.
 */
export interface ClockBound {
  occ: number;
  topic: string;
  expr: string;
  /** The payload field bounded, when not the timestamp: its index answers the range reads. */
  index?: TopicIndex;
}

/** The SQL, over the topic's columns, of what a bound compares with the clock. */
export function boundSubject(bound: Pick<ClockBound, "index">): string {
  return bound.index ? indexExpression(bound.index) : "timestamp";
}

const COMPARISONS = ["<", "<=", ">", ">=", "=", "==", "!=", "<>"];
const CLAUSE_ENDS = ["group", "having", "window", "order", "limit"];
const JOIN_WORDS = ["join", "left", "right", "full", "inner", "cross", "natural"];

/**
 * The clock bounds of a rewritten statement, or why its clock reads are not all bounds
 * (then results can change with time in ways no index finds, and the join runs in full).
 */
export function clockBounds(shape: Shape): ClockBound[] | string {
  const tokens = tokenize(shape.sql.slice(0, shape.end));
  const depth = depths(tokens);
  const from = tokens.findIndex((t) => t.start === shape.fromAt);
  const reads = tokens.flatMap((t, i) => t.kind === "param" && t.value === NOW_PARAM ? [i] : []);
  const clauses = clauseRanges(tokens, depth, from);
  const bounds: ClockBound[] = [];
  const checked = new Set<string>();
  const constant = new DatabaseSync(":memory:");
  try {
    for (const at of reads) {
      if (at < from) {
        return "it reads the clock in its result columns, so results change without new data";
      }
      const clause = clauses.find(([a, b]) => a <= at && at < b);
      if (!clause) {
        return "it reads the clock outside its WHERE and ON clauses, so results change without new data";
      }
      const [a, b] = innermostConjunct(tokens, depth, clause, at);
      if (checked.has(`${a}:${b}`)) continue;
      checked.add(`${a}:${b}`);
      const found = boundsOf(shape, tokens, depth, a, b, constant);
      if (typeof found === "string") {
        const text = shape.sql.slice(tokens[a].start, tokens[b - 1].end).replaceAll(
          NOW_PARAM,
          "'now'",
        );
        return `it reads the clock in \`${text}\`, ${found}; only a bound that compares a ` +
          "topic's timestamp with an expression of the clock (`o.timestamp > <expression of " +
          "'now'>`) runs by delta, as the timestamp index finds the rows that cross it";
      }
      bounds.push(...found);
    }
  } finally {
    constant.close();
  }
  return bounds;
}

/** Token ranges of the WHERE clause and of every ON clause of the top-level SELECT. */
function clauseRanges(tokens: Token[], depth: number[], from: number): [number, number][] {
  const top = (i: number, ...words: string[]) => depth[i] === 0 && isWord(tokens[i], ...words);
  const out: [number, number][] = [];
  for (let i = from + 1; i < tokens.length; i++) {
    if (top(i, "where")) {
      let end = i + 1;
      while (end < tokens.length && !top(end, ...CLAUSE_ENDS)) end++;
      out.push([i + 1, end]);
      break;
    }
    if (top(i, "on")) {
      let end = i + 1;
      while (
        end < tokens.length &&
        !(depth[end] === 0 && isOp(tokens[end], ",")) &&
        !top(end, ...JOIN_WORDS, "where", ...CLAUSE_ENDS)
      ) end++;
      out.push([i + 1, end]);
      i = end - 1;
    }
  }
  return out;
}

/**
 * The AND term that holds token `at`, looking into parenthesized conjunctions:
 * `a AND (b AND c)` has the terms a, b and c. Returned without its parentheses.
 */
function innermostConjunct(
  tokens: Token[],
  depth: number[],
  range: [number, number],
  at: number,
): [number, number] {
  for (;;) {
    let [a, b] = conjunctAt(tokens, depth, range, at);
    while (isOp(tokens[a], "(") && closes(depth, tokens, a) === b - 1) {
      a++;
      b--;
    }
    if (a === range[0] && b === range[1]) return range;
    range = [a, b];
  }
}

/** The top-level AND term of `clause` that holds token `at` (BETWEEN … AND … is one term). */
function conjunctAt(
  tokens: Token[],
  depth: number[],
  [from, to]: [number, number],
  at: number,
): [number, number] {
  const base = depth[from];
  let start = from;
  let between = 0;
  for (let i = from; i <= to; i++) {
    if (i < to && depth[i] !== base) continue;
    if (i < to && isWord(tokens[i], "between")) between++;
    if (i < to && !isWord(tokens[i], "and")) continue;
    if (i < to && between > 0) {
      between--;
      continue;
    }
    if (start <= at && at < i) return [start, i];
    start = i + 1;
  }
  return [from, to];
}

/** The bounds one conjunct `[a, b)` makes, or what keeps it from being one. */
function boundsOf(
  shape: Shape,
  tokens: Token[],
  depth: number[],
  a: number,
  b: number,
  db: DatabaseSync,
): ClockBound[] | string {
  const base = depth[a];
  const at = (i: number) => depth[i] === base;
  const text = (i: number, j: number) => shape.sql.slice(tokens[i].start, tokens[j - 1].end);
  const hasClock = (i: number, j: number) =>
    tokens.slice(i, j).some((t) => t.kind === "param" && t.value === NOW_PARAM);
  const side = (i: number, j: number): string | undefined => {
    if (i >= j || !hasClock(i, j)) return undefined;
    try {
      db.prepare(`SELECT (${text(i, j)})`);
      return text(i, j);
    } catch {
      return "";
    }
  };
  const between = tokens.findIndex((t, i) => i >= a && i < b && at(i) && isWord(t, "between"));
  if (between >= 0) {
    const and = tokens.findIndex((t, i) => i > between && i < b && at(i) && isWord(t, "and"));
    const subject = subjectOf(
      shape,
      tokens,
      a,
      isWord(tokens[between - 1], "not") ? between - 1 : between,
    );
    if (subject === undefined || and < 0) {
      return "which bounds something other than a timestamp or payload field";
    }
    const sides: [number, number][] = [[between + 1, and], [and + 1, b]];
    const exprs = sides.map(([i, j]) => side(i, j)).filter((e) => e !== undefined);
    if (exprs.includes("")) return "whose clock side also reads columns";
    if (subject.index && sides.some(([i, j]) => hasClock(i, j) && isCast(depth, tokens, i, j))) {
      return CAST_PROBLEM;
    }
    return exprs.map((expr) => ({ ...subject, expr }));
  }
  const ops = tokens.flatMap((t, i) =>
    i >= a && i < b && at(i) && isOp(t, ...COMPARISONS) ? [i] : []
  );
  if (ops.length !== 1) return "which is not a single comparison";
  const [op] = ops;
  const left = subjectOf(shape, tokens, a, op);
  const right = subjectOf(shape, tokens, op + 1, b);
  const subject = left ?? right;
  const [i, j] = left ? [op + 1, b] : [a, op];
  const expr = subject ? side(i, j) : undefined;
  if (!subject || expr === undefined) {
    return "which compares it with something other than a topic's timestamp or payload field";
  }
  if (expr === "") return "whose clock side also reads columns";
  if (subject.index && isCast(depth, tokens, i, j)) return CAST_PROBLEM;
  return [{ ...subject, expr }];
}

/**
 * A CAST gives the clock side an affinity, which converts the payload field before it
 * is compared; the range read on the field's index compares it as it is.
 */
const CAST_PROBLEM = "whose clock side is a CAST, which converts the payload field it is " +
  "compared with (compute the bound without CAST, or compare with the timestamp)";

function isCast(depth: number[], tokens: Token[], a: number, b: number): boolean {
  while (isOp(tokens[a], "(") && closes(depth, tokens, a) === b - 1) {
    a++;
    b--;
  }
  return isWord(tokens[a], "cast") && closes(depth, tokens, a + 1) === b - 1;
}

/**
 * What tokens `[i, j)` bound: an occurrence's `timestamp`, or one payload field of it
 * (`json_extract(o.payload, '$.at')`, `o.payload ->> '$.at'`); undefined otherwise.
 */
function subjectOf(
  shape: Shape,
  tokens: Token[],
  i: number,
  j: number,
): Omit<ClockBound, "expr"> | undefined {
  const column = (a: number, b: number, name: string) => columnOf(shape, tokens, a, b, name);
  const timestamp = column(i, j, "timestamp");
  if (timestamp) return timestamp;
  const path = (t: Token | undefined) =>
    t?.kind === "string" && !jsonPathProblem(t.value) ? t.value : undefined;
  let payload: Omit<ClockBound, "expr"> | undefined;
  let field: string | undefined;
  if (isWord(tokens[i], "json_extract") && isOp(tokens[i + 1], "(") && isOp(tokens[j - 1], ")")) {
    const comma = j - 3;
    if (isOp(tokens[comma], ",")) {
      payload = column(i + 2, comma, "payload");
      field = path(tokens[comma + 1]);
    }
  } else if (j - i >= 3 && isOp(tokens[j - 2], "->>")) {
    payload = column(i, j - 2, "payload");
    field = path(tokens[j - 1]);
  }
  if (!payload || !field) return undefined;
  return { ...payload, index: { topic: payload.topic, path: field, as: "json" } };
}

/** The occurrence whose column `name` tokens `[i, j)` name, if they name one. */
function columnOf(
  shape: Shape,
  tokens: Token[],
  i: number,
  j: number,
  name: string,
): Omit<ClockBound, "expr"> | undefined {
  const { occurrences } = shape;
  let occ: number | undefined;
  if (j - i === 1 && occurrences.length === 1) occ = 0;
  else if (j - i === 3 && isOp(tokens[i + 1], ".")) {
    occ = occurrences.find((o) => o.alias === nameOf(tokens[i]))?.index;
  } else return undefined;
  if (occ === undefined || nameOf(tokens[j - 1]) !== name) return undefined;
  return { occ, topic: occurrences[occ].topic };
}

function closes(depth: number[], tokens: Token[], open: number): number {
  for (let i = open + 1; i < tokens.length; i++) {
    if (depth[i] === depth[open] && isOp(tokens[i], ")")) return i;
  }
  return -1;
}
