/// <reference lib="deno.worker" />
/**
 * A reader in its own thread, so long reads never stall ingest. Protocol: the first
 * message opens the connection; each later one is a query answered by id.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { openReader } from "./reader_db.ts";
import { cutRows, prepareLimited } from "./limited.ts";
import { allRows } from "./rows.ts";
import type { ReaderReply, ReaderRequest, ReaderSetup } from "./readers.ts";
import { collectOften } from "./thread_gc.ts";

let db: DatabaseSync | undefined;
const statements = new Map<string, StatementSync>();
const MAX_CACHED = 256;
collectOften();

function prepare(sql: string): StatementSync {
  let statement = statements.get(sql);
  if (statement) {
    statements.delete(sql);
  } else {
    statement = db!.prepare(sql);
    if (statements.size >= MAX_CACHED) statements.delete(statements.keys().next().value!);
  }
  statements.set(sql, statement);
  return statement;
}

self.onmessage = (event: MessageEvent<ReaderSetup | ReaderRequest>) => {
  const message = event.data;
  if ("setup" in message) {
    const { dataDir, shardCount, topics, busyTimeoutMs } = message.setup;
    try {
      db = openReader(dataDir, shardCount, topics, { busyTimeoutMs });
      self.postMessage({ id: 0, rows: [] } satisfies ReaderReply);
    } catch (error) {
      self.postMessage({ id: 0, error: (error as Error).message } satisfies ReaderReply);
    }
    return;
  }
  const { id, sql, params, maxRows } = message;
  try {
    const statement = prepare(sql);
    const args =
      (params === undefined ? [] : Array.isArray(params) ? params : [params]) as SQLInputValue[];
    let rows: Record<string, unknown>[];
    let truncated = false;
    if (maxRows === undefined) {
      rows = allRows(statement, args);
    } else {
      const limited = prepareLimited(db!, sql, maxRows, args);
      ({ rows, truncated } = cutRows(allRows(limited.statement, limited.args), maxRows));
    }
    self.postMessage({ id, rows, truncated } satisfies ReaderReply);
  } catch (error) {
    self.postMessage({ id, error: (error as Error).message } satisfies ReaderReply);
  }
};
