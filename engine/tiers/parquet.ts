/**
 * Rows between SQLite and Parquet. Shard rows go out as NDJSON that SQLite builds
 * itself (a chunk of rows per call, the JSON payload kept as text byte for byte), and
 * DuckDB turns the NDJSON into a Parquet file. Measured in the tiers spike as the
 * fastest of ten ways (about 400k rows/s), and it needs no DuckDB extension.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { dirname } from "node:path";
import { type DuckDBConnection, fsync, numbers, sqlString } from "./duck.ts";
import { tempPath } from "./layout.ts";
import { TOMBSTONES, type Versions } from "../store/shard.ts";

/** The columns of a tier file, as DuckDB reads them; the topic's columns in the hot tier. */
export const TIER_COLUMNS = "key, payload, timestamp, _seq, _change";
const TIER_TYPES =
  "{key: 'VARCHAR', payload: 'VARCHAR', timestamp: 'BIGINT', _seq: 'BIGINT', _change: 'VARCHAR'}";

/** What one shard contributed to an export, read in one snapshot of it. */
export interface ShardExported {
  shard: number;
  rows: number;
  tombstones: number;
  /** The shard's seq in that snapshot: every exported version has `_seq <= seq`. */
  seq: number;
}

export interface ShardExport {
  shardPath: string;
  shard: number;
  topic: string;
  /** Rows with `from <= timestamp < to`. */
  from: number;
  to: number;
  busyTimeoutMs?: number;
  /** Called after each chunk with the number of rows it held. */
  onRows?: (rows: number) => void;
}

const CHUNK = 10_000;

/**
 * Appends the rows (and tombstones) of one topic in one shard to `out` as NDJSON, all
 * read in one snapshot; resolves with how many, and the shard's seq in that snapshot.
 * The shard is opened read-only, so this runs beside the engine's writer.
 */
export async function exportShard(opts: ShardExport, out: Deno.FsFile): Promise<ShardExported> {
  const result: ShardExported = { shard: opts.shard, rows: 0, tombstones: 0, seq: 0 };
  const db = new DatabaseSync(opts.shardPath, { readOnly: true });
  try {
    db.exec(`PRAGMA busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    db.exec("BEGIN");
    const table = `"${opts.topic}"`;
    // Read first, so the snapshot starts here: every row read below has `_seq <= seq`.
    result.seq = Number(
      db.prepare("SELECT seq FROM _litejoin_shard WHERE id = 0").get()?.seq ?? 0,
    );
    const hasTombstones = db.prepare(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    ).get(TOMBSTONES) !== undefined;
    await pages(out, opts, {
      boundary: db.prepare(
        `SELECT timestamp, rowid AS id FROM ${table}
         WHERE (timestamp, rowid) > (?, ?) AND timestamp < ?
         ORDER BY timestamp, rowid LIMIT 1 OFFSET ${CHUNK - 1}`,
      ),
      chunk: db.prepare(
        `SELECT group_concat(json_object('key', key, 'payload', payload, 'timestamp', timestamp,
                  '_seq', _seq, '_change', _change), char(10)) AS text,
                count(*) AS n
         FROM (SELECT * FROM ${table}
               WHERE (timestamp, rowid) > (?, ?) AND (timestamp, rowid) <= (?, ?)
               ORDER BY timestamp, rowid)`,
      ),
    }, (n) => result.rows += n);
    if (hasTombstones) {
      const row = db.prepare(
        `SELECT group_concat(json_object('key', key, 'payload', NULL, 'timestamp', timestamp,
                  '_seq', _seq, '_change', '{"op":"delete"}'), char(10)) AS text,
                count(*) AS n
         FROM ${TOMBSTONES} WHERE topic = ? AND timestamp >= ? AND timestamp < ?`,
      ).get(opts.topic, opts.from, opts.to) as unknown as Chunk;
      if (row.text) {
        await writeAll(out, row.text + "\n");
        result.tombstones = row.n;
        opts.onRows?.(row.n);
      }
    }
    db.exec("COMMIT");
  } finally {
    db.close();
  }
  return result;
}

/** Pages through `[from, to)` by `(timestamp, rowid)`, on the timestamp index. */
async function pages(
  out: Deno.FsFile,
  opts: ShardExport,
  statements: { boundary: StatementSync; chunk: StatementSync },
  counted: (rows: number) => void,
): Promise<void> {
  let after: [number, number] = [opts.from - 1, Number.MAX_SAFE_INTEGER];
  for (;;) {
    const edge = statements.boundary.get(after[0], after[1], opts.to) as
      | { timestamp: number; id: number }
      | undefined;
    const upTo: [number, number] = edge
      ? [edge.timestamp, edge.id]
      : [opts.to - 1, Number.MAX_SAFE_INTEGER];
    const row = statements.chunk.get(after[0], after[1], upTo[0], upTo[1]) as unknown as Chunk;
    if (row.n > 0) {
      await writeAll(out, row.text + "\n");
      counted(row.n);
      opts.onRows?.(row.n);
    }
    if (!edge) return;
    after = upTo;
  }
}

/** One page of an export, as NDJSON. */
interface Chunk {
  text: string | null;
  n: number;
}

async function writeAll(file: Deno.FsFile, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
}

/** A DuckDB relation over an NDJSON file written by `exportShard`. */
export function ndjsonRelation(path: string): string {
  return `read_json(${
    sqlString(path)
  }, format = 'newline_delimited', columns = ${TIER_TYPES}, maximum_object_size = 67108864)`;
}

/** A DuckDB relation over Parquet tier files (an empty one for no files). */
export function parquetRelation(paths: readonly string[]): string {
  if (paths.length === 0) {
    return `(SELECT NULL::VARCHAR AS key, NULL::VARCHAR AS payload, NULL::BIGINT AS timestamp,
               NULL::BIGINT AS _seq, NULL::VARCHAR AS _change WHERE false)`;
  }
  return `(SELECT ${TIER_COLUMNS} FROM read_parquet([${paths.map(sqlString).join(", ")}]))`;
}

/**
 * Writes the rows of `ndjson` into the Parquet file `path`, adding them to the rows
 * already there (a version, by key and `_seq`, is never stored twice). Resolves once
 * the file under its final name is complete and durable: written under a temporary
 * name, its row count read back from its footer and checked, fsynced, renamed into
 * place, and the directory fsynced. A crash before then leaves the old file (or none)
 * and a temporary file that `removeTemps` deletes. Resolves with the file's row count.
 */
export async function writeParquet(
  con: DuckDBConnection,
  ndjson: string,
  path: string,
  readRows: number,
): Promise<number> {
  const tmp = tempPath(path, "parquet");
  const source = ndjsonRelation(ndjson);
  const old = await exists(path) ? parquetRelation([path]) : undefined;
  let select = `SELECT ${TIER_COLUMNS} FROM ${source}`;
  let expected = readRows;
  if (old) {
    const fresh =
      `SELECT n.* FROM ${source} n ANTI JOIN ${old} o ON n.key = o.key AND n._seq = o._seq`;
    const [parsed, held, added] = await numbers(
      con,
      `SELECT (SELECT count(*) FROM ${source}), (SELECT count(*) FROM ${old}),
              (SELECT count(*) FROM (${fresh}))`,
    );
    if (parsed !== readRows) throw new Error(`${ndjson}: wrote ${readRows} rows, read ${parsed}`);
    select = `SELECT * FROM ${old} UNION ALL ${fresh}`;
    expected = held + added;
  }
  try {
    await con.run(`COPY (${select}) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
    const [stored] = await numbers(
      con,
      `SELECT num_rows FROM parquet_file_metadata(${sqlString(tmp)})`,
    );
    if (stored !== expected) {
      throw new Error(`${path}: expected ${expected} rows, the written file holds ${stored}`);
    }
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  await fsync(tmp);
  await Deno.rename(tmp, path);
  await fsync(dirname(path));
  return expected;
}

/**
 * The versions stored in a tier file, in batches, each marked row or tombstone; the
 * caller routes each key to its shard.
 */
export async function* fileVersions(
  con: DuckDBConnection,
  path: string,
): AsyncGenerator<Versions & { tombstone: boolean[] }> {
  const result = await con.stream(
    `SELECT key, _seq, timestamp, payload IS NULL FROM read_parquet(${sqlString(path)})`,
  );
  for await (const rows of result.yieldRows()) {
    yield {
      keys: rows.map((r) => String(r[0])),
      seqs: rows.map((r) => Number(r[1])),
      timestamps: rows.map((r) => Number(r[2])),
      tombstone: rows.map((r) => r[3] === true),
    };
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
