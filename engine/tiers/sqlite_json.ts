/**
 * SQL written for the hot tier (SQLite) answered by DuckDB over Parquet.
 *
 * SQLite's `json_extract(payload, '$.x')` returns a value whose SQL type follows the JSON
 * value of each row: a string is TEXT (unquoted), an integer INTEGER, a real REAL,
 * true/false 1/0, null or missing NULL, an object or array its JSON text. DuckDB's
 * `json_extract` returns JSON (strings stay quoted, `sum()` does not bind), and DuckDB
 * types every expression once, not per row. So each call with a literal path is typed
 * from the data: the JSON types found at that path in the topic pick one of three
 * macros (integer, real or text). Only when one path holds numbers in some rows and
 * strings in others does the answer differ from SQLite's (it is then text throughout).
 *
 * The calls are found in DuckDB's own parse tree (`json_serialize_sql`), so string
 * literals, comments and aliases are understood, and the SQL is edited in place at the
 * offsets the parser reports. `x ->> 'path'` is typed the same way.
 */
import { type DuckDBConnection, firstLine, sqlString } from "./duck.ts";

/**
 * The SQL type one path is read as. `*_boolean` kinds also hold JSON booleans (SQLite
 * reads them as 1/0), which costs a second look at each value; the others read it once.
 */
export type PathKind =
  | "integer"
  | "integer_boolean"
  | "real"
  | "boolean"
  | "text"
  | "text_boolean"
  | "null";

/** Installed once per connection. None shadows a built-in. */
export const SQLITE_JSON_MACROS = [
  `CREATE OR REPLACE MACRO sqlite_json_text(j, p) AS json_extract_string(j, p)`,
  `CREATE OR REPLACE MACRO sqlite_json_text_bool(j, p) AS
     CASE json_type(j, p)
       WHEN 'BOOLEAN' THEN (CASE json_extract_string(j, p) WHEN 'true' THEN '1' ELSE '0' END)
       ELSE json_extract_string(j, p) END`,
  // No row has a value at the path: NULL, which DuckDB lets stand for any type.
  `CREATE OR REPLACE MACRO sqlite_json_null(j, p) AS NULL`,
  `CREATE OR REPLACE MACRO sqlite_json_real(j, p) AS TRY_CAST(json_extract_string(j, p) AS DOUBLE)`,
  `CREATE OR REPLACE MACRO sqlite_json_int(j, p) AS TRY_CAST(json_extract_string(j, p) AS BIGINT)`,
  `CREATE OR REPLACE MACRO sqlite_json_bool(j, p) AS (json_extract_string(j, p) = 'true')::BIGINT`,
  `CREATE OR REPLACE MACRO sqlite_json_int_bool(j, p) AS
     CASE json_type(j, p)
       WHEN 'BOOLEAN' THEN (json_extract_string(j, p) = 'true')::BIGINT
       ELSE TRY_CAST(json_extract_string(j, p) AS BIGINT) END`,
];

const MACRO: Record<PathKind, string> = {
  integer: "sqlite_json_int",
  integer_boolean: "sqlite_json_int_bool",
  boolean: "sqlite_json_bool",
  real: "sqlite_json_real",
  text: "sqlite_json_text",
  text_boolean: "sqlite_json_text_bool",
  null: "sqlite_json_null",
};

export async function installSqliteJson(con: DuckDBConnection): Promise<void> {
  for (const macro of SQLITE_JSON_MACROS) await con.run(macro);
}

/** The SQL kind for one path, from the DuckDB `json_type` names seen there. */
export function kindOf(types: Iterable<string | null>): PathKind {
  const seen = [...new Set(types)].filter((t): t is string => t !== null && t !== "NULL");
  const integer = (t: string) => t === "UBIGINT" || t === "BIGINT";
  if (seen.length === 0) return "null"; // only null or missing: every answer is NULL
  const booleans = seen.includes("BOOLEAN");
  if (seen.every((t) => t === "BOOLEAN")) return "boolean";
  if (seen.every((t) => integer(t) || t === "BOOLEAN")) {
    return booleans ? "integer_boolean" : "integer";
  }
  if (seen.every((t) => integer(t) || t === "DOUBLE")) return "real";
  return booleans ? "text_boolean" : "text";
}

/** The user's SQL is not a single SELECT DuckDB can parse, or uses an unsupported form. */
export class QuerySyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "QuerySyntaxError";
  }
}

/** One typed JSON extraction: which column of which topics, at which literal path. */
export interface JsonCall {
  /** The topics the column may belong to (several when the column is unqualified). */
  topics: string[];
  column: string;
  path: string;
}

/** A parsed query: the topics it reads, its JSON calls, and how to type them. */
export interface ParsedQuery {
  topics: string[];
  calls: JsonCall[];
  /** The SQL with every call typed by `kindFor`. */
  rewrite(kindFor: (call: JsonCall) => PathKind): string;
}

type Node = Record<string, unknown>;

interface Edit {
  call?: JsonCall;
  start: number;
  end: number;
  text: (macro: string) => string;
}

/** Parses one SELECT with DuckDB and finds the topics it reads and its JSON calls. */
export async function parseQuery(
  con: DuckDBConnection,
  sql: string,
  topicNames: readonly string[],
): Promise<ParsedQuery> {
  const reader = await con.runAndReadAll(`SELECT json_serialize_sql(${sqlString(sql)})`);
  const tree = JSON.parse(String(reader.getRowsJS()[0][0]));
  if (tree.error) {
    const message = String(tree.error_message ?? "cannot parse");
    throw new QuerySyntaxError(
      message.startsWith("Only SELECT") ? "only a SELECT can be queried" : message,
    );
  }
  if (tree.statements.length !== 1) throw new QuerySyntaxError("give exactly one SELECT");

  const aliases = new Map<string, string>();
  const functions: Node[] = [];
  walk(tree.statements[0], (node) => {
    if (node.type === "BASE_TABLE" && typeof node.table_name === "string") {
      const table = node.table_name.toLowerCase();
      aliases.set(String(node.alias || node.table_name).toLowerCase(), table);
    }
    if (node.class === "FUNCTION") functions.push(node);
  });
  const topics = [...new Set(aliases.values())].filter((t) => topicNames.includes(t)).sort();

  const bytes = new TextEncoder().encode(sql);
  const text = (start: number, end: number) => new TextDecoder().decode(bytes.slice(start, end));
  const edits: Edit[] = [];
  for (const node of functions) {
    const name = String(node.function_name).toLowerCase();
    const args = (node.children ?? []) as Node[];
    const at = Number(node.query_location);
    if (name === "json_extract" && /^json_extract$/i.test(text(at, at + 12))) {
      if (args.length !== 2) {
        throw new QuerySyntaxError(
          "json_extract with several paths is not supported outside the hot tier; extract each path on its own",
        );
      }
      const call = jsonCall(args, aliases, topics);
      edits.push({ call, start: at, end: at + 12, text: (macro) => macro });
    } else if (name === "->>" && args.length === 2) {
      const call = jsonCall(args, aliases, topics);
      const left = Number(args[0].query_location);
      const right = Number(args[1].query_location);
      const end = call ? literalEnd(bytes, right) : -1;
      if (!call || end < 0 || left >= at) continue; // DuckDB's own ->> then answers
      const operand = text(left, at).trim();
      edits.push({
        call,
        start: left,
        end,
        text: (macro) => `${macro}(${operand}, ${sqlString(call.path)})`,
      });
    }
  }

  return {
    topics,
    calls: edits.flatMap((e) => e.call ? [e.call] : []),
    rewrite(kindFor) {
      let out = bytes;
      for (const edit of [...edits].sort((a, b) => b.start - a.start)) {
        const macro = MACRO[edit.call ? kindFor(edit.call) : "text_boolean"];
        const replacement = new TextEncoder().encode(edit.text(macro));
        const next = new Uint8Array(out.length - (edit.end - edit.start) + replacement.length);
        next.set(out.subarray(0, edit.start));
        next.set(replacement, edit.start);
        next.set(out.subarray(edit.end), edit.start + replacement.length);
        out = next;
      }
      return new TextDecoder().decode(out);
    },
  };
}

/** The typed call for `(column, 'literal path')` arguments, or undefined when not typable. */
function jsonCall(
  args: Node[],
  aliases: Map<string, string>,
  topics: string[],
): JsonCall | undefined {
  const [column, path] = args;
  const value = path.value as { is_null?: boolean; value?: unknown; type?: { id?: string } };
  if (column.class !== "COLUMN_REF" || path.class !== "CONSTANT") return undefined;
  if (value?.type?.id !== "VARCHAR" || value.is_null) return undefined;
  const names = (column.column_names as string[]).map((n) => n.toLowerCase());
  const name = names[names.length - 1];
  if (name !== "payload" && name !== "_change") return undefined;
  const owner = names.length === 2 ? aliases.get(names[0]) : undefined;
  if (names.length > 2 || (names.length === 2 && !owner)) return undefined;
  return {
    topics: owner ? (topics.includes(owner) ? [owner] : []) : topics,
    column: name,
    path: sqlitePath(String(value.value)),
  };
}

/** SQLite's `->>` takes `'$.a'`, a label `'a'` (meaning `$.a`) or an index. */
function sqlitePath(path: string): string {
  if (path.startsWith("$")) return path;
  if (/^-?\d+$/.test(path)) return `$[${path}]`;
  return `$.${/^[A-Za-z_][A-Za-z0-9_]*$/.test(path) ? path : JSON.stringify(path)}`;
}

/** The byte offset just past the string literal starting at `start`, or -1. */
function literalEnd(bytes: Uint8Array, start: number): number {
  const QUOTE = 0x27;
  if (bytes[start] !== QUOTE) return -1;
  for (let i = start + 1; i < bytes.length; i++) {
    if (bytes[i] !== QUOTE) continue;
    if (bytes[i + 1] === QUOTE) i++;
    else return i + 1;
  }
  return -1;
}

function walk(value: unknown, visit: (node: Node) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, visit);
  } else if (value && typeof value === "object") {
    visit(value as Node);
    for (const child of Object.values(value)) walk(child, visit);
  }
}

/**
 * The JSON types found at each `(column, path)` in `relation`, in one scan: keyed
 * `column path`. Parquet files never change, so callers cache this per file.
 */
export async function jsonTypes(
  con: DuckDBConnection,
  relation: string,
  wanted: readonly { column: string; path: string }[],
): Promise<Map<string, (string | null)[]>> {
  const unique = [...new Map(wanted.map((w) => [`${w.column} ${w.path}`, w])).values()];
  const out = new Map<string, (string | null)[]>();
  if (unique.length === 0) return out;
  const columns = unique.map((w, i) =>
    `list(DISTINCT json_type(${w.column}, ${sqlString(w.path)})) AS t${i}`
  );
  let row: unknown[];
  try {
    row = (await con.runAndReadAll(`SELECT ${columns.join(", ")} FROM ${relation}`))
      .getRowsJS()[0];
  } catch (error) {
    throw new QuerySyntaxError(`a JSON path is not valid: ${firstLine(error)}`);
  }
  unique.forEach((w, i) => out.set(`${w.column} ${w.path}`, (row[i] ?? []) as (string | null)[]));
  return out;
}

/** DuckDB's names for result columns show the macros; give them SQLite's spelling back. */
export function sqliteColumnName(name: string): string {
  return name.replace(
    /sqlite_json_(?:text|text_bool|real|int|int_bool|bool|null)\(/g,
    "json_extract(",
  )
    .replace(/\bcount_star\(\)/g, "count(*)")
    .replace(/"([A-Za-z_][A-Za-z0-9_]*)"/g, "$1");
}
