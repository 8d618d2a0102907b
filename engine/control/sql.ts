/**
 * The `sql` and `sql.cancel` control methods: read-only SQL over the topics, with a row
 * limit and a time limit, cancellable by its client. A client that disconnects cancels
 * its queries.
 */
import { type ControlConnection, ControlError, type ControlServer } from "./server.ts";
import { SqlError, type SqlPool } from "./sql_runner.ts";
import type { SqlResult } from "./protocol.ts";

export interface SqlLimits {
  /** Most rows a query returns (a request may ask for fewer). */
  maxRows: number;
  /** Longest a query runs (a request may ask for less). */
  timeoutMs: number;
  /** Rows stop once their JSON reaches this size. */
  maxBytes: number;
}

function limit(value: unknown, max: number, field: string): number {
  if (value === undefined || value === null) return max;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new ControlError(`${field} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return Math.min(value, max);
}

export function serveSql(control: ControlServer, pool: SqlPool, limits: SqlLimits): void {
  const running = new Map<ControlConnection, Map<string, AbortController>>();
  let nextQuery = 1;

  const queriesOf = (connection: ControlConnection) => {
    let queries = running.get(connection);
    if (!queries) {
      running.set(connection, queries = new Map());
      connection.onClose(() => {
        for (const controller of queries!.values()) controller.abort();
        running.delete(connection);
      });
    }
    return queries;
  };

  control.handle("sql", async (params, connection): Promise<SqlResult> => {
    if (typeof params.sql !== "string") {
      throw new ControlError("sql: put the query text in params.sql");
    }
    const rowLimit = limit(params.max_rows, limits.maxRows, "max_rows");
    const timeLimit = limit(params.timeout_ms, limits.timeoutMs, "timeout_ms");
    const id = params.query_id === undefined ? `q${nextQuery++}` : String(params.query_id);
    const queries = queriesOf(connection);
    const controller = new AbortController();
    queries.get(id)?.abort();
    queries.set(id, controller);
    try {
      const result = await pool.query(params.sql, {
        maxRows: rowLimit,
        maxBytes: limits.maxBytes,
        timeoutMs: timeLimit,
        signal: controller.signal,
      });
      return { ...result, row_limit: rowLimit, time_limit_ms: timeLimit };
    } catch (error) {
      if (error instanceof SqlError) throw new ControlError(error.message, error.kind);
      throw error;
    } finally {
      if (queries.get(id) === controller) queries.delete(id);
    }
  });

  control.handle("sql.cancel", (params, connection) => {
    const queries = running.get(connection);
    let cancelled = 0;
    for (const [id, controller] of queries ?? []) {
      if (params.query_id !== undefined && String(params.query_id) !== id) continue;
      controller.abort();
      cancelled++;
    }
    return { cancelled };
  });
}
