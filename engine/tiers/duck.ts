/**
 * DuckDB, in process, for the warm and cold tiers: writes Parquet and queries it.
 *
 * `@duckdb/node-api` is a Node-API addon (`duckdb.node`) that links `libduckdb.so`
 * from its own directory. Under `deno run` both sit in node_modules. A `deno compile`
 * binary extracts only the `.node` file to a temporary directory, so before loading
 * the addon we open `libduckdb.so` ourselves (`Deno.dlopen`, which extracts it from
 * the binary too): the dynamic loader then finds it by its soname, already loaded.
 * `LITEJOIN_LIBDUCKDB=/path/libduckdb.so` names another copy.
 *
 * Parquet and JSON support are linked into the addon; automatic extension downloads are
 * switched off so that nothing ever reaches for the network.
 */
import { createRequire } from "node:module";
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

export type { DuckDBConnection };

/** One DuckDB database in memory and its connection. */
export interface Duck {
  readonly con: DuckDBConnection;
  close(): void;
}

let preloaded = false;

function preloadLibduckdb(): void {
  if (preloaded || Deno.build.os !== "linux") return;
  preloaded = true;
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  let path = Deno.env.get("LITEJOIN_LIBDUCKDB");
  if (!path) {
    try {
      path = createRequire(import.meta.url).resolve(
        `@duckdb/node-bindings-linux-${arch}/libduckdb.so`,
      );
    } catch {
      return; // the addon's own lookup will report what is missing
    }
  }
  Deno.dlopen(path, {});
}

/**
 * Opens an in-memory DuckDB. `threads` bounds its worker threads (default: all cores);
 * `tempDir` is where large sorts and joins spill.
 */
export async function openDuck(opts: { threads?: number; tempDir?: string } = {}): Promise<Duck> {
  let instance: DuckDBInstance;
  try {
    preloadLibduckdb();
    const { DuckDBInstance } = await import("@duckdb/node-api");
    instance = await DuckDBInstance.create(":memory:", {
      autoinstall_known_extensions: "false",
      autoload_known_extensions: "false",
      ...(opts.threads ? { threads: String(opts.threads) } : {}),
      ...(opts.tempDir ? { temp_directory: opts.tempDir } : {}),
    });
  } catch (error) {
    throw new Error(
      `cannot load DuckDB (@duckdb/node-api): ${firstLine(error)}; ` +
        "run `deno install` in the repository, or set LITEJOIN_LIBDUCKDB to libduckdb.so",
      { cause: error },
    );
  }
  const con = await instance.connect();
  return {
    con,
    close: () => {
      con.closeSync();
      instance.closeSync();
    },
  };
}

/** `text` as an SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** `name` as an SQL identifier. */
export function sqlName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The first line of an error's message: DuckDB appends context lines and hints. */
export function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split("\n")[0].trim();
}

/** Forces a file's contents (or a directory's entries) to disk. */
export async function fsync(path: string): Promise<void> {
  const file = await Deno.open(path, { read: true });
  try {
    await file.sync();
  } finally {
    file.close();
  }
}

/** Reads one row of numbers, e.g. `SELECT count(*)`, converting BIGINT to number. */
export async function numbers(con: DuckDBConnection, sql: string): Promise<number[]> {
  const reader = await con.runAndReadAll(sql);
  const row = reader.getRowsJS()[0] ?? [];
  return row.map((v) => v === null ? 0 : Number(v));
}
