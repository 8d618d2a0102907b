/**
 * The shape of a join's SELECT as the delta rewrite needs it: where each topic is named
 * in the FROM clause (and by which alias), how it is joined, and which conjuncts of the
 * ON and WHERE clauses are equalities between two topics' keys or payload fields. The
 * rewrite replaces only those spans and leaves every expression as the user wrote it;
 * `delta_plan.ts` has SQLite confirm the result.
 */
import { depths, isOp, isWord, nameOf, type Token, tokenize } from "./sql_tokens.ts";

/** The query has a shape the delta rewrite does not handle; the message says which part. */
export class ShapeProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShapeProblem";
  }
}

export interface Span {
  start: number;
  end: number;
}

/** One place a topic is read in the FROM clause. A self-join reads a topic twice. */
export interface Occurrence {
  index: number;
  topic: string;
  /** The name the query uses for it (lower case): its alias, or the topic's name. */
  alias: string;
  /** The table name as written; the delta rewrite puts its narrowed rows here. */
  name: Span;
  hasAlias: boolean;
  /** How it joins what precedes it; the first item is `from`. Comma and CROSS joins are `inner`. */
  join: "from" | "inner" | "left";
  /** The `LEFT [OUTER] JOIN` keywords, replaced by `JOIN` when this topic drives a delta. */
  joinSpan?: Span;
}

/** A topic column, or a payload field read with json_extract / ->>. */
export type Term =
  | { occ: number; column: TopicColumn }
  | { occ: number; path: string };

export type TopicColumn = "key" | "payload" | "timestamp" | "_seq" | "_change";
const COLUMNS: readonly string[] = ["key", "payload", "timestamp", "_seq", "_change"];

/** Where a conjunct is: the WHERE clause, or the ON clause of one occurrence. */
export type Place = "where" | number;

/** `left = right`, a top-level conjunct of a WHERE or ON clause, over two occurrences. */
export interface Equality {
  place: Place;
  left: Term;
  right: Term;
}

/** A mention of an occurrence (`alias.column`) outside the select list and outside any `Equality`. */
export interface Mention {
  occ: number;
  place: Place;
}

export interface Shape {
  sql: string;
  occurrences: Occurrence[];
  /** Offset of the top-level FROM keyword: extra result columns go just before it. */
  fromAt: number;
  /** End of the statement's last token: a trailing `;` or comment is left out. */
  end: number;
  /** The ORDER BY clause, which a delta leaves out (results are keyed, not ordered). */
  orderBy?: Span;
  /** Offset of the top-level WHERE keyword, if any. */
  whereAt?: number;
  equalities: Equality[];
  mentions: Mention[];
  /** The select list and GROUP BY, when parsed with `grouped` and the query has a GROUP BY. */
  grouping?: Grouping;
}

/** A term, or (`asText`) a payload field read as `CAST(json_extract(…) AS TEXT)`. */
export type GroupTerm = Term & { asText?: boolean };

/** An expression of the select list or GROUP BY, as written. */
export interface Expression {
  span: Span;
  /** Its tokens as `kind:value`, to compare two expressions. */
  tokens: string[];
  /** Set when the expression is a topic column or payload field of one occurrence. */
  term?: GroupTerm;
}

export interface Grouping {
  /** The select list's items, each without its alias; `star` for `*` and `x.*`. */
  select: (Expression & { alias?: string; star: boolean })[];
  /** The GROUP BY terms; `position` when a term is a number (a select item, from 1). */
  groupBy: (Expression & { position?: number })[];
  /** Offset of the GROUP keyword: the rows before grouping are the statement up to here. */
  at: number;
}

export interface ShapeOptions {
  /** Accept GROUP BY and HAVING, and describe the grouping (`Shape.grouping`). */
  grouped?: boolean;
}

const CLAUSE_ENDS = ["where", "group", "having", "window", "order", "limit"];
export const COMPOUND = ["union", "intersect", "except"];
const JOIN_WORDS = ["join", "left", "right", "full", "inner", "cross", "natural"];
export const NOT_ALIAS = new Set([
  ...CLAUSE_ENDS,
  ...COMPOUND,
  ...JOIN_WORDS,
  "on",
  "using",
  "outer",
  "indexed",
  "not",
  "as",
]);

/** Parses the top level of `sql`, a single SELECT over `topics`. Throws `ShapeProblem`. */
export function parseShape(
  sql: string,
  topics: readonly string[],
  opts: ShapeOptions = {},
): Shape {
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch (error) {
    throw new ShapeProblem((error as Error).message);
  }
  while (tokens.length && isOp(tokens.at(-1), ";")) tokens.pop();
  return new Parser(sql, tokens, topics, opts.grouped ?? false).parse();
}

/** The parser behind `parseShape`; `group_shape.ts` parses grouped subqueries with it. */
export class Parser {
  readonly depth: number[];
  readonly occurrences: Occurrence[] = [];
  readonly equalities: Equality[] = [];
  readonly mentions: Mention[] = [];
  /** Token ranges of the ON clauses, by occurrence. */
  readonly ons = new Map<number, [number, number]>();

  constructor(
    readonly sql: string,
    readonly tokens: Token[],
    readonly topics: readonly string[],
    readonly grouped = false,
  ) {
    this.depth = depths(tokens);
  }

  parse(): Shape {
    const t = this.tokens;
    if (isWord(t[0], "with")) throw new ShapeProblem("it starts with WITH");
    if (!isWord(t[0], "select")) throw new ShapeProblem("it is not a plain SELECT");
    if (isWord(t[1], "distinct")) throw new ShapeProblem("it is SELECT DISTINCT");
    const top = (i: number, ...words: string[]) => this.depth[i] === 0 && isWord(t[i], ...words);
    const from = t.findIndex((_, i) => top(i, "from"));
    if (from < 0) throw new ShapeProblem("it has no FROM clause");
    for (let i = 0; i < t.length; i++) {
      if (top(i, ...COMPOUND)) throw new ShapeProblem(`it is a compound SELECT (${t[i].text})`);
    }
    const clause = (word: string) => t.findIndex((_, i) => i > from && top(i, word));
    for (
      const [word, name] of [["group", "GROUP BY"], ["having", "HAVING"], [
        "window",
        "WINDOW",
      ], ["limit", "LIMIT"]]
    ) {
      if (this.grouped && (word === "group" || word === "having")) continue;
      if (clause(word) >= 0) throw new ShapeProblem(`it has a ${name} clause`);
    }
    const where = clause("where");
    const group = clause("group");
    const having = clause("having");
    const order = clause("order");
    const next = (after: number) =>
      [group, having, order, t.length].find((i) => i > after && i >= 0)!;
    this.parseFrom(from + 1, where >= 0 ? where : next(from));
    if (this.occurrences.length === 0) throw new ShapeProblem("it reads no topic in FROM");
    const whereRange: [number, number] | undefined = where >= 0
      ? [where + 1, next(where)]
      : undefined;
    if (whereRange) this.conjuncts(whereRange, "where");
    for (const [occ, range] of this.ons) this.conjuncts(range, occ);
    return {
      sql: this.sql,
      occurrences: this.occurrences,
      fromAt: t[from].start,
      end: t.at(-1)!.end,
      orderBy: order >= 0 ? { start: t[order].start, end: t.at(-1)!.end } : undefined,
      whereAt: where >= 0 ? t[where].start : undefined,
      equalities: this.equalities,
      mentions: this.mentions,
      grouping: group >= 0 ? this.grouping(from, group, next(group)) : undefined,
    };
  }

  /** The select list (before `from`) and the GROUP BY terms (from `group` to `end`). */
  grouping(from: number, group: number, end: number): Grouping {
    const t = this.tokens;
    if (!isWord(t[group + 1], "by")) throw new ShapeProblem("GROUP is not followed by BY");
    const select = this.items(1, from).map(([a, b]) => {
      let e = b;
      const last = t[b - 1];
      const before = t[b - 2];
      let alias: string | undefined;
      if (b - a > 1 && nameOf(last) !== undefined && !isOp(before, ".")) {
        if (isWord(before, "as")) e = b - 2;
        else if (!before || before.kind !== "op" || isOp(before, ")")) e = b - 1;
        if (e < b) alias = nameOf(last);
      }
      const star = isOp(t[e - 1], "*") && (e - a === 1 || isOp(t[e - 2], "."));
      return { ...this.expression(a, e), alias, star };
    });
    const groupBy = this.items(group + 2, end).map(([a, b]) => {
      const position = b - a === 1 && t[a].kind === "number" ? Number(t[a].value) : undefined;
      return { ...this.expression(a, b), position };
    });
    return { select, groupBy, at: t[group].start };
  }

  /** Token ranges of the comma-separated items from `start` to `end`. */
  items(start: number, end: number): [number, number][] {
    const out: [number, number][] = [];
    const base = this.depth[start];
    let from = start;
    for (let i = start; i <= end; i++) {
      if (i < end && !(this.depth[i] === base && isOp(this.tokens[i], ","))) continue;
      if (i > from) out.push([from, i]);
      from = i + 1;
    }
    return out;
  }

  expression(a: number, b: number): Expression {
    const t = this.tokens;
    const span = { start: t[a].start, end: t[b - 1].end };
    const tokens = t.slice(a, b).map((x) => `${x.kind}:${x.value}`);
    let term: GroupTerm | undefined = this.term(a, b);
    if (
      !term && isWord(t[a], "cast") && isOp(t[a + 1], "(") && this.close(a + 1) === b - 1 &&
      isWord(t[b - 3], "as") && isWord(t[b - 2], "text")
    ) {
      const inner = this.term(a + 2, b - 3);
      if (inner && "path" in inner) term = { ...inner, asText: true };
    }
    return { span, tokens, term };
  }

  /** The FROM items from `start` to `end`; `first` when they start the FROM clause. */
  parseFrom(start: number, end: number, first = true): void {
    const t = this.tokens;
    let i = start;
    while (i < end) {
      let join: Occurrence["join"] = "from";
      let joinSpan: Span | undefined;
      if (!first) {
        if (isOp(t[i], ",")) {
          join = "inner";
          i++;
        } else {
          const opStart = i;
          const words: string[] = [];
          while (i < end && isWord(t[i], ...JOIN_WORDS, "outer") && !isWord(t[i], "join")) {
            words.push(t[i++].value);
          }
          if (!isWord(t[i], "join")) throw new ShapeProblem(`unexpected ${t[i]?.text} in FROM`);
          if (words.includes("natural")) throw new ShapeProblem("it has a NATURAL JOIN");
          if (words.includes("right") || words.includes("full")) {
            throw new ShapeProblem(`it has a ${words.join(" ").toUpperCase()} JOIN`);
          }
          join = words.includes("left") ? "left" : "inner";
          if (join === "left") joinSpan = { start: t[opStart].start, end: t[i].end };
          i++;
        }
      }
      const before = this.occurrences.length;
      i = this.parseItem(i, end, join, joinSpan);
      // Every result row has a row of the first item: deltas re-evaluate from it.
      if (first && this.occurrences.length === before) {
        throw new ShapeProblem(
          "its FROM clause starts with a subquery or function; start with a topic",
        );
      }
      first = false;
    }
  }

  /** One FROM item and its ON clause; returns the index after it. */
  parseItem(i: number, end: number, join: Occurrence["join"], joinSpan?: Span): number {
    const t = this.tokens;
    const token = t[i];
    let occurrence: Occurrence | undefined;
    if (isOp(token, "(")) {
      i = this.close(i) + 1; // a subquery: SQLite later confirms it reads no topic
    } else if (nameOf(token) !== undefined) {
      if (isOp(t[i + 1], ".")) throw new ShapeProblem("it names a table with a schema");
      if (isOp(t[i + 1], "(")) {
        i = this.close(i + 1) + 1; // a table-valued function such as json_each(...)
      } else {
        const topic = nameOf(token)!;
        if (!this.topics.includes(topic)) throw new ShapeProblem(`it reads ${topic}, not a topic`);
        occurrence = {
          index: this.occurrences.length,
          topic,
          alias: topic,
          name: { start: token.start, end: token.end },
          hasAlias: false,
          join,
          joinSpan,
        };
        this.occurrences.push(occurrence);
        i++;
      }
    } else {
      throw new ShapeProblem(`unexpected ${token?.text ?? "end"} in FROM`);
    }
    if (isWord(t[i], "as")) i++;
    const alias = t[i];
    if (
      i < end && nameOf(alias) !== undefined &&
      !(alias.kind === "word" && NOT_ALIAS.has(alias.value))
    ) {
      if (occurrence) {
        occurrence.alias = nameOf(alias)!;
        occurrence.hasAlias = true;
      }
      i++;
    }
    if (isWord(t[i], "indexed") || isWord(t[i], "not")) {
      throw new ShapeProblem("it has INDEXED BY or NOT INDEXED");
    }
    if (isWord(t[i], "using")) throw new ShapeProblem("it joins with USING; write ON instead");
    if (isWord(t[i], "on")) {
      const from = ++i;
      while (
        i < end && !(this.depth[i] === 0 && (isOp(t[i], ",") || isWord(t[i], ...JOIN_WORDS)))
      ) i++;
      if (occurrence) this.ons.set(occurrence.index, [from, i]);
      else throw new ShapeProblem("it joins a subquery or function with ON");
    }
    return i;
  }

  /** Index of the `)` closing the `(` at `open`. */
  close(open: number): number {
    const d = this.depth[open];
    for (let i = open + 1; i < this.tokens.length; i++) {
      if (this.depth[i] === d && isOp(this.tokens[i], ")")) return i;
    }
    throw new ShapeProblem("unbalanced parentheses");
  }

  /** Splits an expression into top-level AND terms, keeping equalities and mentions. */
  conjuncts([from, to]: [number, number], place: Place): void {
    const t = this.tokens;
    const base = this.depth[from];
    let start = from;
    let between = 0;
    for (let i = from; i <= to; i++) {
      if (i < to && this.depth[i] !== base) continue;
      if (i < to && isWord(t[i], "between")) between++;
      if (i < to && !isWord(t[i], "and")) continue;
      if (i < to && between > 0) {
        between--;
        continue;
      }
      this.conjunct(start, i, place);
      start = i + 1;
    }
  }

  conjunct(from: number, to: number, place: Place): void {
    const t = this.tokens;
    let a = from;
    let b = to;
    while (isOp(t[a], "(") && this.close(a) === b - 1) {
      a++;
      b--;
    }
    const eq: number[] = [];
    for (let i = a; i < b; i++) {
      if (this.depth[i] === this.depth[a] && isOp(t[i], "=", "==")) eq.push(i);
    }
    if (eq.length === 1) {
      const left = this.term(a, eq[0]);
      const right = this.term(eq[0] + 1, b);
      if (left && right && left.occ !== right.occ) {
        this.equalities.push({ place, left, right });
        return;
      }
    }
    for (let i = from; i < to - 1; i++) {
      const occ = this.occurrenceNamed(t[i]);
      if (occ !== undefined && isOp(t[i + 1], ".") && !isOp(t[i - 1], ".")) {
        this.mentions.push({ occ, place });
      }
    }
  }

  occurrenceNamed(token: Token | undefined): number | undefined {
    const name = nameOf(token);
    if (name === undefined) return undefined;
    return this.occurrences.find((o) => o.alias === name)?.index;
  }

  /** A column of one occurrence, or one payload field of it; undefined otherwise. */
  term(a: number, b: number): Term | undefined {
    const t = this.tokens;
    const column = (i: number, j: number): { occ: number; column: TopicColumn } | undefined => {
      if (j - i === 1 && this.occurrences.length === 1) {
        const name = nameOf(t[i]);
        return name && COLUMNS.includes(name) ? { occ: 0, column: name as TopicColumn } : undefined;
      }
      if (j - i !== 3 || !isOp(t[i + 1], ".")) return undefined;
      const occ = this.occurrenceNamed(t[i]);
      const name = nameOf(t[i + 2]);
      if (occ === undefined || !name || !COLUMNS.includes(name)) return undefined;
      return { occ, column: name as TopicColumn };
    };
    const path = (token: Token | undefined) =>
      token?.kind === "string" && token.value.startsWith("$") ? token.value : undefined;
    const plain = column(a, b);
    if (plain) return plain;
    if (isWord(t[a], "json_extract") && isOp(t[a + 1], "(") && this.close(a + 1) === b - 1) {
      const comma = b - 3;
      const payload = column(a + 2, comma);
      const p = path(t[comma + 1]);
      if (isOp(t[comma], ",") && payload?.column === "payload" && p) {
        return { occ: payload.occ, path: p };
      }
    }
    if (b - a >= 3 && isOp(t[b - 2], "->>")) {
      const payload = column(a, b - 2);
      const p = path(t[b - 1]);
      if (payload?.column === "payload" && p) return { occ: payload.occ, path: p };
    }
    return undefined;
  }
}
