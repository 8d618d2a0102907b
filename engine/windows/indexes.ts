/**
 * The indexes a window's SQL reads through. A window's statement runs once per closed
 * window, so what it compares with `:window_start`, `:window_end` and `:session_key`
 * decides whether a window costs the rows it holds or the whole topic. Found in the
 * SQL's tokens: the operand on the other side of `=`, `<`, `<=`, `>`, `>=` or
 * `BETWEEN`, when it reads one topic's row only (`timestamp`,
 * `json_extract(payload, '$.at')`, `unixepoch(payload ->> '$.at') * 1000`, …) and
 * SQLite accepts it in an index. A session key compared so gets an index of the key
 * then the event time, so one session reads its own events only; an event time other
 * than `timestamp` (indexed on every shard already) gets an index of its own.
 * `plan.ts` shows SQLite's plan for what is left: the engine warns, `validate` says.
 */
import { DatabaseSync } from "node:sqlite";
import { indexExpression, type TopicIndex } from "../store/indexes.ts";
import { topicDdl } from "../store/topics.ts";
import { isOp, isWord, nameOf, type Token, tokenize } from "../joins/sql_tokens.ts";
import type { WindowSql } from "./check.ts";
import type { WindowConfig } from "./config.ts";

/** An expression over one topic's row that a window compares with a parameter. */
export interface Compared {
  topic: string;
  /** As an index writes it: `timestamp`, `json_extract(payload, '$.at')`, … */
  expression: string;
  param: string;
}

const COMPARISONS = ["=", "==", "<", "<=", ">", ">="];
const PARAMETERS = ["window_start", "window_end", "session_key"];
/** Words that end an operand of a comparison. */
const BOUNDARIES = new Set([
  "and",
  "or",
  "not",
  "where",
  "on",
  "having",
  "when",
  "then",
  "else",
  "case",
  "end",
  "between",
  "is",
  "in",
  "like",
  "glob",
  "match",
  "regexp",
  "escape",
  "select",
  "from",
  "by",
  "group",
  "order",
  "limit",
  "union",
  "except",
  "intersect",
  "exists",
]);
/** Words after a table name that are not its alias. */
const NOT_ALIAS = new Set([
  "where",
  "join",
  "inner",
  "left",
  "right",
  "full",
  "cross",
  "natural",
  "on",
  "using",
  "group",
  "order",
  "limit",
  "window",
  "union",
  "except",
  "intersect",
  "having",
  "indexed",
  "not",
]);
const COLUMNS = new Set(["key", "payload", "timestamp", "_seq", "_change"]);
const JSON_FIELD = /^json_extract\(payload, '((?:[^']|'')*)'\)$/;

/** The payload indexes that serve `window`'s SQL, on the topics it reads. */
export function windowIndexes(window: WindowConfig, sql: WindowSql): TopicIndex[] {
  const compared = comparedColumns(window.sql, sql);
  const out: TopicIndex[] = [];
  for (const topic of new Set(compared.map((c) => c.topic))) {
    const on = compared.filter((c) => c.topic === topic);
    const times = unique(on.filter((c) => c.param !== "session_key").map((c) => c.expression));
    const keys = unique(
      on.filter((c) => c.param === "session_key" && c.expression !== "key").map((c) =>
        c.expression
      ),
    );
    for (const key of keys) out.push({ topic, ...first(key), then: times[0] });
    if (keys.length) times.shift();
    for (const time of times) if (time !== "timestamp") out.push({ topic, ...first(time) });
  }
  return out.filter((index) => indexable(index));
}

const unique = (values: string[]) => [...new Set(values)];

/** The first column of an index: a JSON field as joins index it, or the expression itself. */
function first(expression: string): Pick<TopicIndex, "path" | "as"> {
  const field = JSON_FIELD.exec(expression);
  return field
    ? { path: field[1].replaceAll("''", "'"), as: "json" }
    : { path: expression, as: "expr" };
}

/** Whether SQLite accepts `index` (deterministic functions of the row only). */
function indexable(index: TopicIndex): boolean {
  const db = new DatabaseSync(":memory:");
  try {
    db.exec(topicDdl(index.topic));
    db.exec(`CREATE INDEX probe ON "${index.topic}"(${indexExpression(index)})`);
    return true;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

/** The expressions of one topic's row that the SQL compares with a window parameter, in order. */
export function comparedColumns(
  text: string,
  sql: Pick<WindowSql, "topics" | "topic">,
): Compared[] {
  let tokens: Token[];
  try {
    tokens = tokenize(text);
  } catch {
    return [];
  }
  const aliases = aliasesOf(tokens, sql.topics);
  const fallback = sql.topics.length === 1 ? sql.topics[0] : sql.topic;
  const out: Compared[] = [];
  tokens.forEach((token, i) => {
    const param = token.kind === "param" ? token.text.slice(1).toLowerCase() : "";
    if (!PARAMETERS.includes(param) || !/^[:@$]/.test(token.text)) return;
    const before = tokens[i - 1];
    let operand: Token[] | undefined;
    if (isOp(before, ...COMPARISONS) || isWord(before, "between")) {
      operand = operandBefore(tokens, i - 1);
    } else if (
      isWord(before, "and") && tokens[i - 2]?.kind === "param" && isWord(tokens[i - 3], "between")
    ) {
      operand = operandBefore(tokens, i - 3);
    }
    if (!operand?.length && isOp(tokens[i + 1], ...COMPARISONS)) {
      operand = operandAfter(tokens, i + 1);
    }
    const row = operand?.length ? rowExpression(operand, aliases, fallback) : undefined;
    if (row) out.push({ ...row, param });
  });
  return out;
}

/** The tokens of the operand that ends just before `at`, up to a boundary at its depth. */
function operandBefore(tokens: readonly Token[], at: number): Token[] {
  let depth = 0;
  let i = at - 1;
  for (; i >= 0; i--) {
    const t = tokens[i];
    if (isOp(t, ")")) depth++;
    else if (isOp(t, "(")) {
      if (depth === 0) break;
      depth--;
    } else if (depth === 0 && ends(t)) break;
  }
  return tokens.slice(i + 1, at);
}

function operandAfter(tokens: readonly Token[], at: number): Token[] {
  let depth = 0;
  let i = at + 1;
  for (; i < tokens.length; i++) {
    const t = tokens[i];
    if (isOp(t, "(")) depth++;
    else if (isOp(t, ")")) {
      if (depth === 0) break;
      depth--;
    } else if (depth === 0 && ends(t)) break;
  }
  return tokens.slice(at + 1, i);
}

const ends = (t: Token) =>
  (t.kind === "word" && BOUNDARIES.has(t.value)) || isOp(t, ...COMPARISONS, "!=", "<>", ",", ";") ||
  t.kind === "param";

/**
 * `operand` written over one topic's row without qualifiers, if it reads columns of
 * exactly one topic and nothing else that varies (no parameter, no subquery).
 */
function rowExpression(
  operand: readonly Token[],
  aliases: ReadonlyMap<string, string>,
  fallback: string,
): { topic: string; expression: string } | undefined {
  const topics = new Set<string>();
  const parts: string[] = [];
  let columns = 0;
  for (let i = 0; i < operand.length; i++) {
    const t = operand[i];
    const name = t.kind === "word" || t.kind === "quoted" ? nameOf(t) : undefined;
    if (name !== undefined && isOp(operand[i + 1], ".")) {
      const topic = aliases.get(name);
      const column = nameOf(operand[i + 2]);
      if (topic === undefined || column === undefined || !COLUMNS.has(column)) return undefined;
      topics.add(topic);
      parts.push(column);
      columns++;
      i += 2;
    } else if (name !== undefined && COLUMNS.has(name) && !isOp(operand[i + 1], "(")) {
      topics.add(fallback);
      parts.push(name);
      columns++;
    } else if (t.kind === "param" || isWord(t, "select")) {
      return undefined;
    } else parts.push(t.kind === "word" && isOp(operand[i + 1], "(") ? t.value : t.text);
  }
  if (columns === 0 || topics.size !== 1) return undefined;
  return { topic: [...topics][0], expression: join(parts) };
}

/** Tokens as SQL, spaced as people write it: `json_extract(payload, '$.at') * 1000`. */
function join(parts: readonly string[]): string {
  let out = "";
  parts.forEach((part, i) => {
    const prev = parts[i - 1];
    const tight = i === 0 || prev === "(" || prev === "." || part === ")" || part === "," ||
      part === "." || (part === "(" && /\w$/.test(prev));
    out += (tight ? "" : " ") + part;
  });
  return out;
}

/** The table names and aliases of `topics` in the statement, lower-cased, to the topic. */
function aliasesOf(tokens: readonly Token[], topics: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  tokens.forEach((token, i) => {
    const name = nameOf(token);
    const topic = topics.find((t) => t.toLowerCase() === name);
    if (
      topic === undefined || !(isWord(tokens[i - 1], "from", "join") || isOp(tokens[i - 1], ","))
    ) {
      return;
    }
    out.set(name!, topic);
    const next = isWord(tokens[i + 1], "as") ? tokens[i + 2] : tokens[i + 1];
    const alias = nameOf(next);
    if (alias !== undefined && !(next!.kind === "word" && NOT_ALIAS.has(alias))) {
      out.set(alias, topic);
    }
  });
  return out;
}
