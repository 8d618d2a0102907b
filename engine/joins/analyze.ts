/**
 * What SQLite itself says about a join's or window's SQL: whether it prepares against
 * the declared topics, which topics it reads and which columns it returns. Runs on an
 * empty in-memory database, so it needs no data directory.
 */
import { DatabaseSync } from "node:sqlite";
import { Action, setAuthorizer, Verdict } from "../store/authorizer.ts";
import { closest } from "../schema/suggest.ts";
import { topicDdl } from "../store/topics.ts";

export interface Analysis {
  /** Topics the statement reads, in the order SQLite first reads them. */
  topics: string[];
  columns: string[];
  /** Named parameters such as `:window_start`, without the colon. */
  parameters: string[];
}

/** The statement cannot run; the message says why in SQLite's words plus a hint. */
export class SqlProblem extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SqlProblem";
  }
}

const ALLOWED: ReadonlySet<number> = new Set([
  Action.SELECT,
  Action.READ,
  Action.FUNCTION,
  Action.RECURSIVE,
]);

export function analyzeSql(sql: string, topics: readonly string[]): Analysis {
  const db = new DatabaseSync(":memory:");
  try {
    for (const topic of topics) db.exec(topicDdl(topic));
    const read: string[] = [];
    let refused: string | undefined;
    setAuthorizer(db, (action, table) => {
      if (action === Action.READ && table && topics.includes(table) && !read.includes(table)) {
        read.push(table);
      }
      if (ALLOWED.has(action)) return Verdict.OK;
      refused ??= "only a read-only SELECT is allowed here";
      return Verdict.DENY;
    });
    let statement;
    try {
      statement = db.prepare(sql);
    } catch (error) {
      throw new SqlProblem(explain((error as Error).message, topics, refused));
    }
    const tail = sql.slice(statement.sourceSQL.length).replace(
      /--[^\n]*|\/\*[\s\S]*?\*\/|[\s;]/g,
      "",
    );
    if (tail !== "") throw new SqlProblem("holds more than one statement; give exactly one SELECT");
    const columns = statement.columns().map((c) => c.name);
    if (columns.length === 0) throw new SqlProblem("returns no columns; give a SELECT");
    const parameters = sqlParameters(statement.sourceSQL);
    return { topics: read, columns, parameters };
  } finally {
    db.close();
  }
}

function explain(message: string, topics: readonly string[], refused?: string): string {
  if (refused && /not authorized/.test(message)) return refused;
  const table = /no such table: (?:\w+\.)?(\w+)/.exec(message);
  if (table) {
    const guess = closest(table[1], topics);
    const known = topics.length ? topics.join(", ") : "none declared";
    return `${message} (topics: ${known})${guess ? `; did you mean ${guess}?` : ""}`;
  }
  const column = /no such column: (\S+)/.exec(message);
  if (column) {
    return `${message} (topic tables have columns key, payload, timestamp; payload fields are json_extract(payload, '$.field'))`;
  }
  return message;
}

/**
 * Named parameters (`:name`, `@name`, `$name`) of one statement, skipping string
 * literals, quoted identifiers and comments.
 */
export function sqlParameters(sql: string): string[] {
  const names = new Set<string>();
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    const close = c === "'" ? "'" : c === '"' ? '"' : c === "`" ? "`" : c === "[" ? "]" : undefined;
    if (close) {
      i = sql.indexOf(close, i + 1);
      if (i < 0) break;
    } else if (c === "-" && sql[i + 1] === "-") {
      i = sql.indexOf("\n", i);
      if (i < 0) break;
    } else if (c === "/" && sql[i + 1] === "*") {
      i = sql.indexOf("*/", i + 2) + 1;
      if (i <= 0) break;
    } else if ((c === ":" || c === "@" || c === "$") && /[A-Za-z_]/.test(sql[i + 1] ?? "")) {
      const name = /^[A-Za-z_]\w*/.exec(sql.slice(i + 1))![0];
      names.add(name);
      i += name.length;
    }
  }
  return [...names];
}
