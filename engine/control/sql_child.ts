/**
 * The process that runs console SQL (`litejoin internal-sql-runner`, started by the
 * engine). A query runs here rather than on an engine thread because the only way to
 * stop a statement inside SQLite from Deno is to end its process: `Worker.terminate()`
 * does not interrupt `sqlite3_step`. The engine kills this process to cancel a query or
 * enforce the time limit; its shards, opened read-only, are untouched by that.
 *
 * Protocol, one JSON object per line. stdin: first the `SqlSetup`, then `SqlRequest`s.
 * stdout: `{ready: true}` (or `{error}` and exit), then one `SqlReply` per request.
 */
import { DatabaseSync } from "node:sqlite";
import { shardPath } from "../store/shard.ts";
import { topicView } from "../store/reader_db.ts";
import { installReadOnlyPolicy, ReadOnlyError } from "./readonly.ts";
import { singleStatement } from "./statements.ts";
import { prepareLimited } from "../store/limited.ts";
import type { ArrayStatement } from "../store/rows.ts";
import { jsonLine, readJsonLines } from "./_lines.ts";

export interface SqlSetup {
  dataDir: string;
  shardCount: number;
  topics: string[];
  busyTimeoutMs: number;
}

export interface SqlRequest {
  id: number;
  sql: string;
  maxRows: number;
  /** Rows stop once their JSON reaches this size; the result is then truncated. */
  maxBytes: number;
}

export type SqlErrorKind = "read_only" | "sql_error" | "bad_request";

export type SqlReply =
  | { id: number; columns: string[]; rows: unknown[][]; truncated: boolean; ms: number }
  | { id: number; error: string; kind: SqlErrorKind };

/** Requests are small; replies are bounded by `maxBytes` plus one row. */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** `file:` URI of a path, so that SQLite honours `?mode=ro`. */
function readOnlyUri(path: string): string {
  return `file:${path.replace(/[%?#]/g, encodeURIComponent)}?mode=ro`;
}

/** The connection console SQL runs on: every shard attached read-only, a view per topic. */
export function openConsoleDatabase(setup: SqlSetup) {
  const db = new DatabaseSync(":memory:");
  db.exec(`PRAGMA busy_timeout = ${setup.busyTimeoutMs}`);
  for (let i = 0; i < setup.shardCount; i++) {
    db.prepare(`ATTACH DATABASE ? AS s${i}`).run(readOnlyUri(shardPath(setup.dataDir, i)));
  }
  for (const topic of setup.topics) db.exec(topicView(topic, setup.shardCount));
  db.exec("PRAGMA query_only = ON");
  return { db, policy: installReadOnlyPolicy(db) };
}

/** A cell as JSON can carry it: blobs become `x'…'` hex, integers beyond 2^53 strings. */
function cell(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    const hex = [...value.subarray(0, 64)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `x'${hex}'${value.length > 64 ? `… (${value.length} bytes)` : ""}`;
  }
  if (typeof value === "bigint") {
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  }
  return value;
}

/**
 * Runs one request on `db`; never throws. Rows are read with `all()`, never
 * `iterate()`: Deno's `iterate()` ends quietly when a step fails (a runtime error, an
 * authorizer denial while stepping), which would show a partial result as complete.
 * A query is wrapped in `SELECT * FROM (…) LIMIT n` so that SQLite stops at the row
 * limit; statements that cannot be wrapped (PRAGMA, EXPLAIN) run as they are.
 */
export function runRequest(
  db: DatabaseSync,
  policy: { check<T>(fn: () => T): T },
  request: SqlRequest,
): SqlReply {
  const started = performance.now();
  try {
    const sql = singleStatement(request.sql);
    return policy.check(() => {
      const limited = prepareLimited(db, sql, request.maxRows);
      const statement = limited.statement as ArrayStatement;
      const args = limited.args;
      const columns = statement.columns().map((c) => c.name);
      statement.setReturnArrays(true);
      statement.setReadBigInts(true);
      const all = statement.all(...args) as unknown as unknown[][];
      const rows: unknown[][] = [];
      let bytes = 0;
      let truncated = false;
      for (const raw of all) {
        if (rows.length >= request.maxRows || bytes >= request.maxBytes) {
          truncated = true;
          break;
        }
        const row = raw.map(cell);
        bytes += JSON.stringify(row).length;
        rows.push(row);
      }
      return {
        id: request.id,
        columns,
        rows,
        truncated,
        ms: Math.round((performance.now() - started) * 100) / 100,
      };
    });
  } catch (error) {
    const e = error as Error;
    const view = /^cannot modify (\S+) because it is a view$/.exec(e.message);
    if (view) {
      return {
        id: request.id,
        error: `read-only console: writing to ${view[1]} not allowed`,
        kind: "read_only",
      };
    }
    const kind: SqlErrorKind = e instanceof ReadOnlyError
      ? "read_only"
      : e instanceof RangeError
      ? "bad_request"
      : "sql_error";
    return { id: request.id, error: e.message, kind };
  }
}

async function writeAll(bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

/** The child's main loop: serves requests until stdin closes. */
export async function runSqlChild(): Promise<void> {
  const lines = readJsonLines(Deno.stdin.readable, MAX_REQUEST_BYTES);
  const first = await lines.next();
  if (first.done) return;
  let opened;
  try {
    opened = openConsoleDatabase((first.value as { setup: SqlSetup }).setup);
  } catch (error) {
    await writeAll(jsonLine({ error: `cannot open the shards: ${(error as Error).message}` }));
    return;
  }
  await writeAll(jsonLine({ ready: true }));
  for await (const request of lines) {
    await writeAll(jsonLine(runRequest(opened.db, opened.policy, request as SqlRequest)));
  }
  opened.db.close();
}
