/**
 * The indexes a window's SQL reads through. A window's statement runs once per closed
 * window, so what it compares with `:window_start`, `:window_end` and `:session_key`
 * decides whether a window costs the rows it holds or the whole topic. Found in the
 * SQL's tokens: `timestamp` (indexed on every shard already) and
 * `json_extract(payload, '$.path')` compared with one of the parameters by `=`, `<`,
 * `<=`, `>`, `>=` or `BETWEEN`. A session key compared so gets an index of the key
 * then the event time, so one session reads its own events only; a payload event time
 * gets an index of its own. Other expressions get none: `windowScans` shows SQLite's
 * plan for them, and the engine warns.
 */
import type { Readers } from "../store/readers.ts";
import { jsonPathProblem, type TopicIndex } from "../store/indexes.ts";
import { isOp, isWord, nameOf, type Token, tokenize } from "../joins/sql_tokens.ts";
import type { WindowSql } from "./check.ts";
import type { WindowConfig } from "./config.ts";
import { windowParams } from "./results.ts";

/** A topic column a window compares with a parameter: `timestamp`, or a JSON path of the payload. */
interface Compared {
  topic: string;
  /** `timestamp`, or a JSON path such as `$.user.id`. */
  column: string;
  param: string;
}

const COMPARISONS = ["=", "==", "<", "<=", ">", ">="];
/** Operators that bind tighter than a comparison: an operand next to one is part of a larger expression. */
const TIGHTER = ["||", "->", "->>", "+", "-", "*", "/", "%", "&", "|", "<<", ">>", "~", "."];
const PARAMETERS = ["window_start", "window_end", "session_key"];
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

/** The payload indexes that serve `window`'s SQL, on the topics it reads. */
export function windowIndexes(window: WindowConfig, sql: WindowSql): TopicIndex[] {
  const compared = comparedColumns(window.sql, sql);
  const out: TopicIndex[] = [];
  const topics = new Set(compared.map((c) => c.topic));
  for (const topic of topics) {
    const on = compared.filter((c) => c.topic === topic);
    const times = unique(on.filter((c) => c.param !== "session_key").map((c) => c.column));
    const keys = unique(
      on.filter((c) => c.param === "session_key" && c.column !== "timestamp").map((c) => c.column),
    );
    for (const path of keys) out.push({ topic, path, as: "json", then: times[0] });
    if (keys.length && times[0] !== undefined) times.shift();
    for (const path of times) {
      if (path !== "timestamp") out.push({ topic, path, as: "json" });
    }
  }
  return out;
}

const unique = (values: string[]) => [...new Set(values)];

/** The topic columns the SQL compares with a window parameter, in order of appearance. */
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
  const out: Compared[] = [];
  tokens.forEach((token, i) => {
    const param = token.kind === "param" ? token.text.slice(1).toLowerCase() : "";
    if (!PARAMETERS.includes(param) || !/^[:@$]/.test(token.text)) return;
    const before = tokens[i - 1];
    let operand: Operand | undefined;
    if (
      isOp(before, ...COMPARISONS) || isWord(before, "between")
    ) {
      operand = operandEndingAt(tokens, i - 2);
    } else if (
      isWord(before, "and") && tokens[i - 2]?.kind === "param" && isWord(tokens[i - 3], "between")
    ) {
      operand = operandEndingAt(tokens, i - 4);
    }
    if (!operand && isOp(tokens[i + 1], ...COMPARISONS)) operand = operandStartingAt(tokens, i + 2);
    if (!operand) return;
    const topic = operand.qualifier === undefined
      ? (sql.topics.length === 1 ? sql.topics[0] : sql.topic)
      : aliases.get(operand.qualifier);
    if (topic !== undefined) out.push({ topic, column: operand.column, param });
  });
  return out;
}

interface Operand {
  qualifier?: string;
  column: string;
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

/** The index of the `(` that `)` at `close` closes, or -1. */
function openOf(tokens: readonly Token[], close: number): number {
  for (let depth = 0, i = close; i >= 0; i--) {
    if (isOp(tokens[i], ")")) depth++;
    else if (isOp(tokens[i], "(") && --depth === 0) return i;
  }
  return -1;
}

function closeOf(tokens: readonly Token[], open: number): number {
  for (let depth = 0, i = open; i < tokens.length; i++) {
    if (isOp(tokens[i], "(")) depth++;
    else if (isOp(tokens[i], ")") && --depth === 0) return i;
  }
  return -1;
}

/** The indexable operand whose last token is `end`, if the tokens `from`…`end` are one. */
function operandEndingAt(tokens: readonly Token[], end: number): Operand | undefined {
  if (isOp(tokens[end], ")")) {
    const open = openOf(tokens, end);
    return open > 0 ? operandIn(tokens, open - 1, end) : undefined;
  }
  const start = isOp(tokens[end - 1], ".") ? end - 2 : end;
  return operandIn(tokens, start, end);
}

function operandStartingAt(tokens: readonly Token[], start: number): Operand | undefined {
  if (isOp(tokens[start + 1], "(")) return operandIn(tokens, start, closeOf(tokens, start + 1));
  return operandIn(tokens, start, isOp(tokens[start + 1], ".") ? start + 2 : start);
}

/**
 * `tokens[start..end]` as an indexable operand: `[q.]timestamp` or
 * `json_extract([q.]payload, '$.path')`, standing alone (no tighter operator beside it).
 */
function operandIn(tokens: readonly Token[], start: number, end: number): Operand | undefined {
  if (start < 0 || end < start) return undefined;
  if (isOp(tokens[start - 1], ...TIGHTER) || isOp(tokens[end + 1], ...TIGHTER)) return undefined;
  const part = tokens.slice(start, end + 1);
  if (isWord(part[0], "json_extract") && isOp(part[1], "(") && isOp(part.at(-1), ")")) {
    const path = part.at(-2);
    if (!isOp(part.at(-3), ",") || path?.kind !== "string") return undefined;
    if (!path.value.startsWith("$") || jsonPathProblem(path.value)) return undefined;
    const ref = columnRef(part.slice(2, -3));
    if (ref?.column !== "payload") return undefined;
    return { qualifier: ref.qualifier, column: path.value };
  }
  const ref = columnRef(part);
  return ref?.column === "timestamp" ? ref : undefined;
}

/** `column` or `qualifier.column`. */
function columnRef(part: readonly Token[]): Operand | undefined {
  const name = (token: Token) =>
    token.kind === "word" || token.kind === "quoted" ? nameOf(token) : undefined;
  if (part.length === 1) {
    const column = name(part[0]);
    return column === undefined ? undefined : { column };
  }
  if (part.length !== 3 || !isOp(part[1], ".")) return undefined;
  const [qualifier, column] = [name(part[0]), name(part[2])];
  return qualifier === undefined || column === undefined ? undefined : { qualifier, column };
}

/**
 * The topics SQLite reads in full for one window of `sql` (`SCAN`, not `SEARCH`), from
 * EXPLAIN QUERY PLAN through the topic views. Empty when every read uses an index.
 */
export async function windowScans(
  sql: string,
  parameters: readonly string[],
  readers: Pick<Readers, "query">,
): Promise<string[]> {
  const params = windowParams(parameters, { start: 0, end: 1, key: "" });
  const { rows } = await readers.query(`EXPLAIN QUERY PLAN ${sql}`, params);
  const out = new Set<string>();
  for (const row of rows) {
    const scan = /^SCAN s\d+\.(?:"([^"]+)"|(\w+))/.exec(String(row.detail));
    if (scan) out.add(scan[1] ?? scan[2]);
  }
  return [...out];
}
