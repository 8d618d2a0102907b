/**
 * SQLite sink: upserts results into a table of a separate database file, one column
 * per result column plus `_key` (the result key, primary key). New columns are added
 * as they appear; a delete removes the row.
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { type Infer, object, string } from "../schema/schema.ts";
import { deliveryFields } from "../schema/common.ts";
import { openDatabase, transaction } from "../store/sqlite.ts";
import type { Result } from "../types.ts";
import { DeliveryError, type Sink } from "./sink.ts";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export const spec = object({
  path: string().describe("Database file (created if missing).", "./data/results.db"),
  table: string({ pattern: IDENTIFIER, hint: "must be a plain SQL identifier" }).optional()
    .describe(
      "Table to write; by default the name of the join or window that produced the result. One " +
        "table holds one result set.",
    ),
  ...deliveryFields(),
});

export type SqliteSinkConfig = Infer<typeof spec>;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The largest magnitude an INTEGER column holds: 2^63. */
const INT64 = 2 ** 63;

/**
 * A result value as SQLite stores it. `node:sqlite` binds every JavaScript number as
 * REAL, so a whole number (as SQL gave an INTEGER, e.g. `1000`) is bound as a BigInt
 * to stay INTEGER; others stay REAL. Results travel as JSON numbers, where `2.0` and
 * `2` are one value, so a REAL that holds a whole number is stored as INTEGER too
 * (SQLite compares the two as equal).
 */
export function sqlValue(value: unknown): SQLInputValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") {
    return Number.isInteger(value) && Math.abs(value) < INT64 ? BigInt(value) : value;
  }
  if (typeof value === "string" || typeof value === "bigint") return value;
  return JSON.stringify(value);
}

export class SqliteSink implements Sink {
  readonly #db: DatabaseSync;
  readonly #columns = new Map<string, Set<string>>();
  readonly #statements = new Map<string, StatementSync>();

  constructor(readonly name: string, readonly config: SqliteSinkConfig) {
    this.#db = openDatabase(config.path);
  }

  send(results: readonly Result[]): Promise<void> {
    try {
      transaction(this.#db, () => {
        for (const result of results) this.#write(result);
      });
    } catch (error) {
      return Promise.reject(
        new DeliveryError(`writing ${this.config.path} failed: ${(error as Error).message}`, {
          cause: error,
        }),
      );
    }
    return Promise.resolve();
  }

  #write(result: Result): void {
    const table = this.config.table ?? result.name;
    if (result._change?.op === "delete") {
      this.#ensureTable(table, []);
      this.#statement(`DELETE FROM ${quote(table)} WHERE _key = ?`).run(result.key);
      return;
    }
    const names = ["_key", ...Object.keys(result.row).filter((c) => c !== "_key")];
    this.#ensureTable(table, names);
    const values = names.map((c) => sqlValue(c === "_key" ? result.key : result.row[c]));
    const updates = names.slice(1).map((c) => `${quote(c)} = excluded.${quote(c)}`).join(", ");
    const sql = `INSERT INTO ${quote(table)} (${names.map(quote).join(", ")})
      VALUES (${names.map(() => "?").join(", ")})
      ON CONFLICT (_key) DO ${updates ? `UPDATE SET ${updates}` : "NOTHING"}`;
    this.#statement(sql).run(...values);
  }

  #ensureTable(table: string, wanted: string[]): void {
    let columns = this.#columns.get(table);
    if (!columns) {
      this.#db.exec(`CREATE TABLE IF NOT EXISTS ${quote(table)} (_key TEXT PRIMARY KEY)`);
      columns = new Set(
        this.#db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table).map((r) =>
          String(r.name)
        ),
      );
      this.#columns.set(table, columns);
    }
    for (const column of wanted) {
      if (columns.has(column)) continue;
      this.#db.exec(`ALTER TABLE ${quote(table)} ADD COLUMN ${quote(column)}`);
      columns.add(column);
    }
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) this.#statements.set(sql, statement = this.#db.prepare(sql));
    return statement;
  }

  close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
    return Promise.resolve();
  }
}
