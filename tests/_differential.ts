/**
 * The engine process and the comparisons of the differential test
 * (`differential_test.ts`): posting, SIGKILL and graceful restarts, waiting until every
 * join has delivered, and comparing result tables cell by cell, storage class included.
 */
import { DatabaseSync, type SQLInputValue, type SQLOutputValue } from "node:sqlite";
import { openReader } from "../engine/store/reader_db.ts";
import { type EngineProcess, spawnEngine } from "./_process.ts";
import { waitFor } from "./_helpers.ts";
import type { Post } from "./_differential_workload.ts";
import { SHARDS } from "./_differential_queries.ts";

/** `litejoin run` on the test's directory, restarted as the test goes. */
export class EngineUnderTest {
  /** False once stopped, until resumed. */
  running = true;
  #runs = 0;

  private constructor(
    readonly dir: string,
    readonly joins: readonly string[],
    private process: EngineProcess,
  ) {}

  /** Starts the engine on `dir`, whose config declares `joins` (`settle` waits for each). */
  static async start(dir: string, joins: readonly string[]): Promise<EngineUnderTest> {
    return new EngineUnderTest(dir, joins, await spawnEngine(dir));
  }

  get url(): string {
    return this.process.url;
  }

  /** The log of the running (or last) process. */
  log(): string {
    return this.process.log();
  }

  /** Posts one request: true once acknowledged (202), false when it may not be stored. */
  async post(post: Post): Promise<boolean> {
    try {
      const response = await fetch(`${this.url}/${post.topic}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(post.messages),
      });
      await response.body?.cancel();
      return response.status === 202;
    } catch {
      return false; // killed while the request was in flight
    }
  }

  /** SIGKILL, then a new process on the same data. */
  async crash(): Promise<void> {
    this.process.child.kill("SIGKILL");
    await this.#exited();
    await this.#respawn();
  }

  /** SIGTERM (which must exit 0), then a new process on the same data. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#respawn();
  }

  /** SIGTERM; the engine must exit 0. */
  async stop(): Promise<void> {
    this.running = false;
    this.process.child.kill("SIGTERM");
    const status = await this.#exited();
    if (status.code !== 0) {
      throw new Error(`litejoin exited with ${status.code} on SIGTERM:\n${this.log()}`);
    }
  }

  /** Starts a stopped engine again. */
  resume(): Promise<void> {
    return this.#respawn();
  }

  /** Waits for the process to exit and keeps its log as `engine-<n>.log` in the directory. */
  async #exited(): Promise<Deno.CommandStatus> {
    const status = await this.process.exited;
    await Deno.writeTextFile(`${this.dir}/engine-${++this.#runs}.log`, this.log());
    return status;
  }

  async #respawn(): Promise<void> {
    this.process = await spawnEngine(this.dir);
    this.running = true;
  }

  /** `/metrics` as `name{labels}` → value. */
  async metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const at = line.lastIndexOf(" ");
      out.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
    return out;
  }

  /**
   * Resolves once every join has evaluated and delivered every commit (no pending key,
   * no evaluation under way, nothing queued for a sink or the writer), seen twice in a
   * row; fails if a join is failing.
   */
  async settle(): Promise<void> {
    let quietPolls = 0;
    await waitFor("every join to deliver what is committed", async () => {
      const m = await this.metrics();
      for (const join of this.joins) {
        for (
          const gauge of ["litejoin_join_pending_keys", "litejoin_join_oldest_pending_seconds"]
        ) {
          if (!m.has(`${gauge}{join="${join}"}`)) {
            throw new Error(`/metrics has no ${gauge} of ${join}`);
          }
        }
      }
      const busy = [...m].filter(([name, value]) =>
        value !== 0 &&
        /^litejoin_(join_pending_keys|join_oldest_pending_seconds|sink_backlog_results|writer_backlog_messages)\b/
          .test(name)
      );
      const failing = [...m].filter(([name, v]) => name.startsWith("litejoin_join_failing") && v);
      if (failing.length) {
        throw new Error(`joins failing: ${failing.map(([n]) => n)}\n${this.log()}`);
      }
      quietPolls = busy.length ? 0 : quietPolls + 1;
      return quietPolls >= 2;
    }, 30_000);
  }
}

/** Each join's mode and reason, as the startup log gives them. */
export function joinModes(log: string): Map<string, { mode: string; reason: string }> {
  const out = new Map<string, { mode: string; reason: string }>();
  for (const match of log.matchAll(/join (\S+): reads .*?, mode (\w+) \((.*)\), sinks /g)) {
    out.set(match[1], { mode: match[2], reason: match[3] });
  }
  return out;
}

/** A value with its SQLite storage class. */
export interface Cell {
  value: SQLOutputValue;
  type: string;
}
export type TypedRow = Map<string, Cell>;

/** The rows of `sql`, each value with its storage class (`typeof`). */
export function typedRows(
  db: DatabaseSync,
  sql: string,
  params: Record<string, SQLInputValue> = {},
): TypedRow[] {
  const columns = db.prepare(sql).columns().map((c) => c.name);
  const q = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const typed = `SELECT ${
    columns.map((c, i) => `${q(c)} AS v${i}, typeof(${q(c)}) AS t${i}`).join(", ")
  } FROM (${sql})`;
  return db.prepare(typed).all(params).map((row) =>
    new Map(columns.map((c, i) => [c, { value: row[`v${i}`], type: String(row[`t${i}`]) }]))
  );
}

/** Rows by the string of their `key` column; rows without one are left out, as the engine does. */
export function byKey(rows: TypedRow[], key: string): Map<string, TypedRow> {
  const out = new Map<string, TypedRow>();
  for (const row of rows) {
    const value = row.get(key)?.value;
    if (value === null || value === undefined || value === "") continue;
    out.set(String(value), row);
  }
  return out;
}

/**
 * Whether a delivered value is what SQL gave: the same value and storage class, so an
 * INTEGER stays INTEGER and text stays text. One allowance, the SQLite sink's documented
 * contract: results travel as JSON numbers, where `2.0` and `2` are one value, so a REAL
 * holding a whole number may be stored as INTEGER.
 */
export function sameCell(expected: Cell | undefined, got: Cell | undefined): boolean {
  if (expected === undefined || got === undefined || expected.value !== got.value) return false;
  if (expected.type === got.type) return true;
  return expected.type === "real" && got.type === "integer" &&
    Number.isInteger(expected.value);
}

const showCell = (cell: Cell | undefined) =>
  cell ? `${JSON.stringify(cell.value)} (${cell.type})` : "(no column)";

export const showRow = (row: TypedRow | undefined) =>
  row ? `{${[...row].map(([c, v]) => `${c}: ${showCell(v)}`).join(", ")}}` : "(none)";

/**
 * The keys whose rows differ between `expected` and `actual`, comparing the columns of
 * `expected` (a sink table also has `_key`), as lines naming both rows.
 */
export function differences(
  expected: Map<string, TypedRow>,
  actual: Map<string, TypedRow>,
): string[] {
  const out: string[] = [];
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(key);
    const got = actual.get(key);
    if (!want || !got) {
      out.push(`${key}: expected ${showRow(want)}, got ${showRow(got)}`);
      continue;
    }
    const differing = [...want].filter(([column, cell]) => !sameCell(cell, got.get(column)));
    if (differing.length === 0) continue;
    out.push(
      `${key}: ${
        differing.map(([column, cell]) =>
          `${column} expected ${showCell(cell)}, got ${showCell(got.get(column))}`
        ).join("; ")
      } in ${showRow(got)}`,
    );
  }
  return out.sort();
}

/** A sink table's rows by `_key` (none when the sink never created the table). */
export function sinkTable(db: DatabaseSync, table: string): Map<string, TypedRow> {
  const exists = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?")
    .get(table);
  return exists ? byKey(typedRows(db, `SELECT * FROM "${table}"`), "_key") : new Map();
}

/** A connection to the stopped engine's shards, with every topic as one view, as joins see them. */
export function openTopics(dir: string, topics: readonly string[]): DatabaseSync {
  return openReader(`${dir}/data`, SHARDS, topics);
}

/** `key`, parsed payload and timestamp of every row of `topic`, read while the engine may run. */
export function readTopic(
  dir: string,
  topic: string,
): Map<string, { payload: Record<string, unknown>; timestamp: number }> {
  const db = openTopics(dir, [topic]);
  try {
    const rows = db.prepare(`SELECT key, payload, timestamp FROM "${topic}"`).all();
    return new Map(rows.map((r) => [
      String(r.key),
      { payload: JSON.parse(String(r.payload)), timestamp: Number(r.timestamp) },
    ]));
  } finally {
    db.close();
  }
}

/** `sql` with its clock (`strftime('%s','now')`) pinned to `ms`. */
export function pinNow(sql: string, ms: number): string {
  return sql.replaceAll("strftime('%s','now')", `strftime('%s', ${ms / 1000}, 'unixepoch')`);
}

export { DatabaseSync };
