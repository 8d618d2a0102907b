/**
 * Whether a join can be evaluated by deltas, and how. SQLite decides exactness: the
 * compiled program (EXPLAIN) shows aggregates, window functions, LIMIT, compound
 * selects, DISTINCT and GROUP BY, and calls that depend on the clock or chance; a
 * rewrite of the FROM clause, prepared by SQLite, confirms that every topic is read
 * where the rewrite expects and shows which LEFT JOINs stay outer.
 *
 * For each topic occurrence j, the delta query narrows j to the changed keys and
 * narrows every other occurrence it can reach through equality conjuncts to the rows
 * that can join them, looked up by key or by a payload index. Those lookups are the
 * indexes a join asks the shards for.
 */
import { DatabaseSync } from "node:sqlite";
import { Action, setAuthorizer, Verdict } from "../store/authorizer.ts";
import type { TopicIndex } from "../store/indexes.ts";
import { topicDdl } from "../store/topics.ts";
import { hashString } from "../hash.ts";
import { DeltaSql } from "./delta_sql.ts";
import { topicView } from "../store/reader_db.ts";
import { analyzeGroups, GROUPING_BLOCKER, type GroupPlan } from "./group_plan.ts";
import { type Equality, parseShape, type Shape, ShapeProblem, type Term } from "./shape.ts";
import { type ClockBound, clockBounds } from "./clock_bound.ts";
import { bindClock, NOW_PARAM } from "./clock_rewrite.ts";

/** Bump when the rewrite changes what provenance means, so stored provenance is rebuilt. */
const PLAN_VERSION = 1;

/** How one occurrence is narrowed: `lookup IN (SELECT value FROM <rows of occurrence from>)`. */
export interface Restriction {
  occ: number;
  from: number;
  /** An SQL expression over the target topic's columns, answered by an index. */
  lookup: string;
  /** An SQL expression over the source occurrence's columns. */
  value: string;
  /** The payload index the lookup needs, if it is not the key or timestamp. */
  index?: TopicIndex;
}

export interface DeltaPlan {
  shape: Shape;
  /** For each occurrence j: the occurrences narrowed when j drives, in dependency order. */
  drives: Restriction[][];
  /** Payload indexes the lookups use. */
  indexes: TopicIndex[];
  /** Changes when the SQL or the rewrite changes: provenance recorded under another is stale. */
  fingerprint: string;
  /** Set for a GROUP BY join: this plan is that of its rows before grouping. */
  group?: GroupPlan;
  /** Bounds on the clock, when the SQL reads it (its `shape.sql` then binds `NOW_PARAM`). */
  clock?: ClockBound[];
}

export type DeltaAnalysis =
  | { exact: true; plan: DeltaPlan }
  | { exact: false; reason: string };

/**
 * Decides whether `sql` (already known to prepare against `topics`) is delta-exact.
 * A GROUP BY join is when its result `key` is a group term (see `group_plan.ts`).
 */
export function analyzeDelta(
  sql: string,
  topics: readonly string[],
  key?: string,
): DeltaAnalysis {
  try {
    return analyze(sql, topics, key);
  } catch (error) {
    return { exact: false, reason: `it could not be analysed (${(error as Error).message})` };
  }
}

function analyze(original: string, topics: readonly string[], key?: string): DeltaAnalysis {
  const db = new DatabaseSync(":memory:");
  // Clock reads become a parameter each evaluation binds: see `clock_bound.ts`.
  // A statement already rewritten (a GROUP BY join's rows before grouping) reads it too.
  const { sql, reads } = bindClock(original);
  const readsClock = reads || sql.includes(NOW_PARAM);
  try {
    for (const topic of topics) db.exec(topicDdl(topic));
    const blockers = explainBlockers(db, sql);
    if (blockers.length && blockers.every((b) => GROUPING_BLOCKER.test(b))) {
      return analyzeGroups(db, sql, topics, key, blockers, {
        rows: (rows) => analyze(rows, topics),
        occurrences: (shape) => checkOccurrences(db, shape, topics),
      });
    }
    if (blockers.length) return { exact: false, reason: blockers.join("; ") };
    let shape: Shape;
    try {
      shape = parseShape(sql, topics);
    } catch (error) {
      if (error instanceof ShapeProblem) return { exact: false, reason: error.message };
      throw error;
    }
    const problem = checkOccurrences(db, shape, topics);
    if (problem) return { exact: false, reason: problem };
    const clock = readsClock ? clockBounds(shape) : undefined;
    if (typeof clock === "string") return { exact: false, reason: clock };
    const drives = shape.occurrences.map((o) => restrictions(shape, o.index));
    const indexes = [...drives.flat(), ...clock ?? []].flatMap((r) => r.index ? [r.index] : []);
    const fingerprint = hashString(JSON.stringify({ v: PLAN_VERSION, sql: shape.sql }))
      .toString(36);
    const plan = { shape, drives, indexes, fingerprint, clock };
    const broken = checkRewrite(plan, topics);
    if (broken) return { exact: false, reason: broken };
    return { exact: true, plan };
  } finally {
    db.close();
  }
}

const AGGREGATE = new Set(["AggStep", "AggStep1", "AggFinal", "Count"]);
const WINDOW = new Set(["AggValue", "AggInverse"]);
const LIMIT = new Set(["DecrJumpZero", "OffsetLimit"]);
const RANDOM = new Set(["random", "randomblob", "changes", "total_changes", "last_insert_rowid"]);
const CLOCK = new Set([
  "date",
  "time",
  "datetime",
  "julianday",
  "unixepoch",
  "strftime",
  "timediff",
]);

/** What in SQLite's program for `sql` makes a delta inexact; empty when nothing does. */
export function explainBlockers(db: DatabaseSync, sql: string): string[] {
  const program = db.prepare(`EXPLAIN ${sql}`).all() as {
    opcode: string;
    p2: number;
    p4: unknown;
  }[];
  const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((r) => String(r.detail));
  const ops = new Set(program.map((op) => op.opcode));
  const found: string[] = [];
  const has = (set: Set<string>) => [...set].filter((op) => ops.has(op));
  if (has(WINDOW).length) found.push(`it uses window functions (${has(WINDOW).join(", ")})`);
  else if (has(AGGREGATE).length) found.push(`it aggregates (${has(AGGREGATE).join(", ")})`);
  if (plan.some((d) => /^(COMPOUND QUERY|MERGE \()/.test(d))) {
    found.push("it is a compound SELECT (UNION, EXCEPT or INTERSECT)");
  } else if (program.filter((op) => op.opcode === "ResultRow").length > 1) {
    found.push("it is a compound SELECT (UNION ALL)");
  }
  if (plan.some((d) => d.includes("FOR DISTINCT"))) {
    found.push("it is SELECT DISTINCT (temp b-tree)");
  }
  if (plan.some((d) => d.includes("FOR GROUP BY")) || (!found.length && ops.has("Compare"))) {
    found.push("it groups rows (GROUP BY)");
  }
  if (has(LIMIT).length) {
    found.push(`it has a LIMIT or a scalar subquery (${has(LIMIT).join(", ")})`);
  }
  const functions = program
    .filter((op) => op.opcode === "Function" || op.opcode === "PureFunc")
    .map((op) => ({ name: String(op.p4).replace(/\(.*$/, "").toLowerCase(), noArgs: op.p2 === 0 }));
  const now = program.some((op) =>
    op.opcode === "String8" && String(op.p4).toLowerCase() === "now"
  );
  for (const f of functions) {
    if (RANDOM.has(f.name)) found.push(`it calls ${f.name}(), which is not deterministic`);
    if (f.name.startsWith("current_") || (CLOCK.has(f.name) && (now || f.noArgs))) {
      found.push(`it reads the clock (${f.name}), so results change without new data`);
    }
  }
  return [...new Set(found)];
}

/**
 * Has SQLite confirm the shape: with each occurrence renamed to its own marker table,
 * the statement must read no topic (none hides in a subquery) and return the same
 * columns. Returns a reason when the delta would be wrong, or undefined.
 */
function checkOccurrences(
  db: DatabaseSync,
  shape: Shape,
  topics: readonly string[],
): string | undefined {
  const markers = shape.occurrences.map((o) => `__lj_occ_${o.index}`);
  markers.forEach((m) => db.exec(topicDdl(m)));
  let text = "";
  let at = 0;
  for (const o of shape.occurrences) {
    text += shape.sql.slice(at, o.name.start) + markers[o.index] +
      (o.hasAlias ? "" : ` AS "${o.topic}"`);
    at = o.name.end;
  }
  text += shape.sql.slice(at, shape.end);
  const read = new Set<string>();
  setAuthorizer(db, (action, table) => {
    if (action === Action.READ && table) read.add(table);
    return Verdict.OK;
  });
  let columns: string[];
  try {
    columns = db.prepare(text).columns().map((c) => c.name);
  } catch (error) {
    return `the FROM clause could not be rewritten (${(error as Error).message})`;
  } finally {
    setAuthorizer(db, null);
  }
  const hidden = topics.filter((t) => read.has(t));
  if (hidden.length) return `it reads ${hidden.join(", ")} outside the FROM clause (in a subquery)`;
  const original = db.prepare(shape.sql.slice(0, shape.end)).columns().map((c) => c.name);
  if (JSON.stringify(columns) !== JSON.stringify(original)) {
    return "the FROM clause could not be rewritten (result columns differ)";
  }
  // Which LEFT JOINs stay outer: SQLite emits NullRow for the cursors of those it did
  // not reduce to inner joins.
  const roots = new Map<number, string>();
  for (const row of db.prepare("SELECT tbl_name, rootpage FROM sqlite_schema").all()) {
    roots.set(Number(row.rootpage), String(row.tbl_name));
  }
  const program = db.prepare(`EXPLAIN ${text}`).all() as {
    opcode: string;
    p1: number;
    p2: number;
    p3: number;
  }[];
  const cursors = new Map<number, number>();
  for (const op of program) {
    if (op.opcode !== "OpenRead" || op.p3 !== 0) continue;
    const occ = markers.indexOf(roots.get(op.p2) ?? "");
    if (occ >= 0) cursors.set(op.p1, occ);
  }
  const outer = new Set<number>();
  for (const op of program) {
    if (op.opcode === "NullRow" && cursors.has(op.p1)) outer.add(cursors.get(op.p1)!);
  }
  for (const q of outer) {
    const o = shape.occurrences[q];
    if (o.join !== "left") continue;
    const elsewhere = shape.mentions.find((m) => m.occ === q && m.place !== q);
    if (elsewhere) {
      const where = elsewhere.place === "where"
        ? "WHERE"
        : `the ON clause of ${shape.occurrences[elsewhere.place as number].alias}`;
      return `the right side of a LEFT JOIN (${o.alias}) is tested in ${where} other than by an ` +
        "equality, so rows can appear when a match goes away";
    }
  }
  return undefined;
}

/**
 * Prepares every statement the plan generates against two attached shards, so that
 * a rewrite SQLite would refuse is caught here and the join runs in full instead.
 */
function checkRewrite(plan: DeltaPlan, topics: readonly string[]): string | undefined {
  const db = new DatabaseSync(":memory:");
  try {
    for (const s of [0, 1]) {
      db.exec(`ATTACH ':memory:' AS s${s}`);
      for (const topic of topics) db.exec(topicDdl(topic, `s${s}`));
    }
    for (const topic of topics) db.exec(topicView(topic, 2));
    const occs = plan.shape.occurrences.map((o) => o.index);
    for (const perShard of [true, false]) {
      const sql = new DeltaSql(plan, 2, { perShard });
      for (const statement of [sql.full(), sql.drive(occs), ...occs.map((j) => sql.drive([j]))]) {
        db.prepare(statement);
      }
    }
    return undefined;
  } catch (error) {
    return `the delta rewrite does not prepare (${(error as Error).message})`;
  } finally {
    db.close();
  }
}

type Affinity = "text" | "integer" | "none";
const affinity = (t: Term): Affinity =>
  "path" in t ? "none" : t.column === "timestamp" || t.column === "_seq" ? "integer" : "text";

const field = (path: string) => `json_extract(payload, '${path.replaceAll("'", "''")}')`;

/** SQL for a term over its occurrence's columns (unqualified). */
export function termSql(t: Term): string {
  return "path" in t ? field(t.path) : t.column;
}

/**
 * How to find the rows of `target`'s topic that can equal `source`, keeping SQLite's
 * comparison rules (a TEXT column compares an untyped value as text), through an
 * index. Undefined when no index can answer it.
 */
function lookup(
  shape: Shape,
  target: Term,
  source: Term,
): Pick<Restriction, "lookup" | "index"> | undefined {
  const a = affinity(target);
  const b = affinity(source);
  const compare = a === "integer" || b === "integer"
    ? "numeric"
    : a === "text" || b === "text"
    ? "text"
    : "none";
  if (!("path" in target)) {
    if (target.column === "key" && compare === "text") return { lookup: "key" };
    if (target.column === "timestamp" && compare === "numeric") return { lookup: "timestamp" };
    return undefined;
  }
  if (compare === "numeric") return undefined;
  const topic = shape.occurrences[target.occ].topic;
  if (compare === "text") {
    return {
      lookup: `CAST(${field(target.path)} AS TEXT)`,
      index: { topic, path: target.path, as: "text" },
    };
  }
  return { lookup: field(target.path), index: { topic, path: target.path, as: "json" } };
}

/**
 * The occurrences narrowed when occurrence `j` drives, each through an equality that
 * every result row of j's delta satisfies (WHERE, an inner join's ON, or the ON of a
 * LEFT JOIN that an equality makes inner), or through a LEFT JOIN's own ON (which
 * only decides that side's matches). Breadth first from j.
 */
export function restrictions(shape: Shape, j: number): Restriction[] {
  const inner = new Set(shape.occurrences.filter((o) => o.join !== "left").map((o) => o.index));
  inner.add(j);
  const required = (e: Equality) => e.place === "where" || inner.has(e.place);
  for (let grew = true; grew;) {
    grew = false;
    for (const e of shape.equalities) {
      if (!required(e)) continue;
      for (const q of [e.left.occ, e.right.occ]) {
        if (!inner.has(q)) {
          inner.add(q);
          grew = true;
        }
      }
    }
  }
  const reached = new Set([j]);
  const queue = [j];
  const out: Restriction[] = [];
  while (queue.length) {
    const p = queue.shift()!;
    for (const e of shape.equalities) {
      for (const [source, target] of [[e.left, e.right], [e.right, e.left]]) {
        if (source.occ !== p || reached.has(target.occ)) continue;
        if (!required(e) && e.place !== target.occ) continue;
        const how = lookup(shape, target, source);
        if (!how) continue;
        reached.add(target.occ);
        queue.push(target.occ);
        out.push({ occ: target.occ, from: p, value: termSql(source), ...how });
      }
    }
  }
  return out;
}
