/**
 * Expression indexes on payload fields, kept on every shard by the shard's writer.
 * Joins derive the ones their deltas look up through; `topics[].indexes` declares
 * more. An index LiteJoin made and no longer needs is dropped when the shard opens.
 */
import type { DatabaseSync } from "node:sqlite";
import { fnv1a32 } from "./fnv.ts";

export interface TopicIndex {
  topic: string;
  /** A JSON path such as `$.customer_id`. */
  path: string;
  /**
   * `json`: the field's value, for comparisons with other payload fields and literals.
   * `text`: the field's value as text, for comparisons with a key (SQLite compares a
   * TEXT column and an untyped value as text, so `key = json_extract(...)` matches the
   * number 7 to the key '7').
   * `expr`: `path` is not a JSON path but an SQL expression over the row, such as a
   * window filters on (`unixepoch(payload ->> '$.at') * 1000`).
   */
  as: "json" | "text" | "expr";
  /**
   * A second column, for lookups that match the first exactly and range over this one
   * (a session window's key, then its event time): an SQL expression over the row,
   * such as `timestamp` or `json_extract(payload, '$.at')`.
   */
  then?: string;
}

const MARK = "__lj_";

/** The value of a payload field, as an index or a lookup writes it. */
const jsonField = (path: string) => `json_extract(payload, '${path.replaceAll("'", "''")}')`;

/**
 * The SQL expression an index covers, written exactly as lookups must write it (with
 * `then`, the two columns it covers, comma-separated).
 */
export function indexExpression(index: Pick<TopicIndex, "path" | "as" | "then">): string {
  const field = jsonField(index.path);
  const first = index.as === "expr"
    ? index.path
    : index.as === "text"
    ? `CAST(${field} AS TEXT)`
    : field;
  return index.then === undefined ? first : `${first}, ${index.then}`;
}

export function indexName(index: TopicIndex): string {
  const slugOf = (path: string) =>
    path.replace(/^\$\.?/, "").toLowerCase().replace(/[^a-z0-9_]+/g, "_").slice(0, 40);
  const then = index.then === undefined ? "" : `:${index.then}`;
  const hash = fnv1a32(`${index.as}:${index.path}${then}`).toString(36);
  const slug = slugOf(index.path) + (index.then === undefined ? "" : `_${slugOf(index.then)}`);
  return `${index.topic}${MARK}${index.as}_${slug}_${hash}`;
}

/** The same indexes once each, in a stable order. */
export function uniqueIndexes(indexes: Iterable<TopicIndex>): TopicIndex[] {
  const byName = new Map<string, TopicIndex>();
  for (const index of indexes) byName.set(indexName(index), index);
  return [...byName.entries()].sort(([a], [b]) => a < b ? -1 : 1).map(([, index]) => index);
}

/**
 * Creates the missing `indexes` and drops indexes LiteJoin made earlier that are no
 * longer wanted. Returns the names of both.
 */
export function ensureIndexes(
  db: DatabaseSync,
  indexes: readonly TopicIndex[],
): { created: string[]; dropped: string[] } {
  const existing = new Set(
    db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND instr(name, ?) > 0")
      .all(MARK).map((row) => String(row.name)),
  );
  const wanted = new Map(indexes.map((index) => [indexName(index), index]));
  const created: string[] = [];
  const dropped: string[] = [];
  for (const name of existing) {
    if (wanted.has(name)) continue;
    db.exec(`DROP INDEX IF EXISTS "${name}"`);
    dropped.push(name);
  }
  for (const [name, index] of wanted) {
    if (existing.has(name)) continue;
    db.exec(`CREATE INDEX IF NOT EXISTS "${name}" ON "${index.topic}"(${indexExpression(index)})`);
    created.push(name);
  }
  return { created, dropped };
}

/** A declared index path in full form: `customer_id` stands for `$.customer_id`. */
export function fullPath(path: string): string {
  return path.startsWith("$") ? path : `$.${path}`;
}

const PATH = /^\$(\.([A-Za-z_][A-Za-z0-9_]*|"[^"]*")|\[(\d+|#-\d+)\])*$/;

/** Why `path` is not a JSON path an index can cover, or undefined. */
export function jsonPathProblem(path: string): string | undefined {
  if (PATH.test(fullPath(path))) return undefined;
  return `${JSON.stringify(path)} is not a JSON path; write a field name such as customer_id, ` +
    'or a path such as $.customer.id, $.items[0] or $."odd name"';
}
