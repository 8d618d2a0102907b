/**
 * One question across the tiers. SQL is written as for the hot tier (`FROM orders`,
 * `json_extract(payload, '$.amount')`) and answered:
 *  - `hot`: by SQLite over the shard files (read-only, beside a running engine);
 *  - `warm`, `cold`, `all`: by DuckDB over the Parquet files of the warm directory and
 *    files fetched from the cold tier into a local cache; `all` adds the hot rows.
 * Each topic reads as it would in the hot tier: the latest version of each key (by
 * timestamp, then `_seq`: a key's later version is always written at a later time, and
 * timestamps survive `litejoin reshard`, which renumbers `_seq`), deleted keys absent. With `history`, every stored version instead, with the
 * tier holding it in `_tier` (deletes as rows whose payload is NULL).
 *
 * The sources are read hot first, then warm, then cold: a row moving down the tiers
 * meanwhile is then seen twice (and counted once) rather than missed.
 */
import { join } from "node:path";
import type { TierSettings } from "./spec.ts";
import { openReader } from "../store/reader_db.ts";
import { shardPath } from "../store/shard.ts";
import { type DuckDBConnection, firstLine, numbers, openDuck, sqlName, sqlString } from "./duck.ts";
import { parseTierPath } from "./layout.ts";
import { exists, exportShard, ndjsonRelation, TIER_COLUMNS } from "./parquet.ts";
import {
  installSqliteJson,
  jsonTypes,
  kindOf,
  parseQuery,
  QuerySyntaxError,
  sqliteColumnName,
} from "./sqlite_json.ts";
import { type ColdStore, openS3 } from "./cold.ts";
import { FileFacts } from "./file_facts.ts";
import { noProgress, type Progress } from "../progress.ts";
import { cutRows, prepareLimited } from "../store/limited.ts";
import { allArrays } from "../store/rows.ts";
import { type Tier, TIERS } from "./tier.ts";

export { type Tier, TIERS };

export interface TierQueryOptions {
  config: TierSettings;
  tier: Tier;
  /** Every stored version with its `_tier`, instead of the latest per key. */
  history?: boolean;
  /** Stop after this many rows and say so (`truncated`). */
  maxRows?: number;
  /** The cold tier; default: an S3 client from `tiering.cold`. */
  store?: ColdStore;
  progress?: Progress;
}

export interface TierAnswer {
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
}

/** The SQL was wrong (syntax, unknown column, type error): the user's to fix. */
export class TierQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TierQueryError";
  }
}

/** Answers `sql` from the chosen tiers. */
export function queryTiers(sql: string, opts: TierQueryOptions): Promise<TierAnswer> {
  if (opts.tier === "hot" && !opts.history) return queryHot(sql, opts);
  return queryDuck(sql, opts);
}

function shardFiles(config: TierSettings): string[] {
  const e = config.engine;
  return Array.from({ length: e.shard_count }, (_, i) => shardPath(e.data_dir, i));
}

async function queryHot(sql: string, opts: TierQueryOptions): Promise<TierAnswer> {
  const { config } = opts;
  for (const file of shardFiles(config)) {
    if (!(await exists(file))) {
      throw new Error(`${file} does not exist: start the engine once (litejoin run) to create it`);
    }
  }
  const e = config.engine;
  const db = openReader(e.data_dir, e.shard_count, config.topicNames, {
    busyTimeoutMs: e.busy_timeout,
  });
  try {
    const maxRows = opts.maxRows ?? Number.MAX_SAFE_INTEGER - 1;
    let limited;
    try {
      limited = prepareLimited(db, sql, maxRows);
    } catch (error) {
      throw new TierQueryError(firstLine(error));
    }
    const { statement, args } = limited;
    // Arrays keep columns of the same name apart.
    const columns = statement.columns().map((c) => c.name);
    let all: unknown[][];
    try {
      all = allArrays(statement, args);
    } catch (error) {
      throw new TierQueryError(firstLine(error));
    }
    return { columns, ...cutRows(all, maxRows) };
  } finally {
    db.close();
  }
}

async function queryDuck(sql: string, opts: TierQueryOptions): Promise<TierAnswer> {
  const duck = await openDuck();
  const temp = await Deno.makeTempDir({ prefix: "litejoin-query-" });
  const cold = opts.tier === "cold" || (opts.tier === "all" && opts.config.tiering.cold);
  let store = opts.store;
  try {
    const con = duck.con;
    await installSqliteJson(con);
    let parsed;
    try {
      parsed = await parseQuery(con, sql, opts.config.topicNames);
    } catch (error) {
      if (error instanceof QuerySyntaxError) throw new TierQueryError(error.message);
      throw error;
    }
    if (cold && !store) {
      if (!opts.config.tiering.cold) {
        throw new TierQueryError(
          `${opts.config.file} has no tiering.cold, so there is no cold tier to query`,
        );
      }
      store = await openS3(opts.config.tiering.cold);
    }
    await con.run("CREATE SCHEMA IF NOT EXISTS litejoin_tiers");
    const hot = opts.tier === "hot" || opts.tier === "all";
    if (hot) await loadHot(con, opts, parsed.topics, temp);
    const facts = new FileFacts(con, join(opts.config.tierPaths.cacheDir, "facts"));
    // A warm file may be uploaded and deleted between listing and reading it: list again.
    for (let attempt = 1;; attempt++) {
      try {
        const kinds = new Map<string, (string | null)[]>();
        for (const topic of parsed.topics) {
          const files = await defineTopic(con, opts, topic, store, facts);
          const wanted = parsed.calls.filter((c) => c.topics.includes(topic));
          const found = await facts.jsonTypes(files, wanted);
          const live = hot ? await jsonTypes(con, hotTable(topic), wanted) : new Map();
          for (const [key, types] of found) {
            kinds.set(`${topic} ${key}`, [...types, ...(live.get(key) ?? [])]);
          }
        }
        const rewritten = parsed.rewrite((call) =>
          kindOf(call.topics.flatMap((t) => kinds.get(`${t} ${call.column} ${call.path}`) ?? []))
        );
        return await run(con, rewritten, opts.maxRows);
      } catch (error) {
        if (attempt < 3 && /No files found|No such file/i.test(String(error))) continue;
        if (error instanceof QuerySyntaxError) throw new TierQueryError(error.message);
        throw error;
      }
    }
  } finally {
    if (store && store !== opts.store) store.close();
    duck.close();
    await Deno.remove(temp, { recursive: true }).catch(() => {});
  }
}

/** Copies the hot rows of `topics` (all shards, one snapshot each) into DuckDB tables. */
async function loadHot(
  con: DuckDBConnection,
  opts: TierQueryOptions,
  topics: string[],
  temp: string,
): Promise<void> {
  const { config } = opts;
  const shards = shardFiles(config);
  const present = await Promise.all(shards.map(exists));
  for (const topic of topics) {
    const ndjson = join(temp, `${topic}.ndjson`);
    const out = await Deno.open(ndjson, { write: true, create: true, truncate: true });
    const task = (opts.progress ?? noProgress).start(`read hot ${topic}`, 0, "rows");
    try {
      for (let shard = 0; shard < shards.length; shard++) {
        if (!present[shard]) continue;
        await exportShard({
          shardPath: shards[shard],
          shard,
          topic,
          from: Number.MIN_SAFE_INTEGER,
          to: Number.MAX_SAFE_INTEGER,
          busyTimeoutMs: config.engine.busy_timeout,
          onRows: (n) => task.advance(n),
        }, out);
      }
    } catch (error) {
      // A topic the engine has not created yet has no table: no hot rows.
      if (!/no such table/.test(String(error))) throw error;
    } finally {
      out.close();
      task.done();
    }
    await con.run(
      `CREATE TABLE ${hotTable(topic)} AS SELECT ${TIER_COLUMNS} FROM ${ndjsonRelation(ndjson)}`,
    );
  }
}

function hotTable(topic: string): string {
  return `litejoin_tiers.${sqlName(`hot_${topic}`)}`;
}

/**
 * The raw relation of a topic over the chosen tiers, and the view the user's SQL reads:
 * the latest version of each key. Only keys stored more than once, or deleted, need a
 * window to pick it; they are known per file set (cached), plus such keys among the hot
 * rows and hot keys also found in the files.
 * Resolves with the topic's Parquet files.
 */
async function defineTopic(
  con: DuckDBConnection,
  opts: TierQueryOptions,
  topic: string,
  store: ColdStore | undefined,
  facts: FileFacts,
): Promise<string[]> {
  const parts: string[] = [];
  const hot = opts.tier === "hot" || opts.tier === "all";
  if (hot) parts.push(`SELECT *, 'hot' AS _tier FROM ${hotTable(topic)}`);
  const files: string[] = [];
  if (opts.tier === "warm" || opts.tier === "all") {
    const warm = await warmFiles(opts.config.tierPaths.warmDir, topic);
    if (warm.length) parts.push(parquet(warm, "warm"));
    files.push(...warm);
  }
  if (store && (opts.tier === "cold" || opts.tier === "all")) {
    const cold = await fetchCold(store, topic, opts);
    if (cold.length) parts.push(parquet(cold, "cold"));
    files.push(...cold);
  }
  if (parts.length === 0) {
    parts.push(
      `SELECT NULL::VARCHAR AS key, NULL::VARCHAR AS payload, NULL::BIGINT AS timestamp,
              NULL::BIGINT AS _seq, NULL::VARCHAR AS _change, NULL::VARCHAR AS _tier WHERE false`,
    );
  }
  const raw = `litejoin_tiers.${sqlName(topic)}`;
  const view = `CREATE OR REPLACE TEMP VIEW ${sqlName(topic)} AS`;
  await con.run(`CREATE OR REPLACE VIEW ${raw} AS ${parts.join(" UNION ALL ")}`);
  if (opts.history) {
    await con.run(`${view} SELECT ${TIER_COLUMNS}, _tier FROM ${raw}`);
    return files;
  }
  const latest = (from: string) =>
    `SELECT ${TIER_COLUMNS} FROM (
       SELECT *, row_number() OVER (PARTITION BY key ORDER BY timestamp DESC, _seq DESC)
         AS _litejoin_rank
       FROM ${from})
     WHERE _litejoin_rank = 1 AND payload IS NOT NULL`;
  const repeated = await facts.repeatedKeys(files);
  if (repeated === "all") {
    await con.run(`${view} ${latest(raw)}`);
    return files;
  }
  const dups = `litejoin_tiers.${sqlName(`repeated_${topic}`)}`;
  await con.run(
    `CREATE OR REPLACE TABLE ${dups} AS SELECT unnest(from_json($1, '["VARCHAR"]')) AS key`,
    [JSON.stringify(repeated)],
  );
  if (hot) {
    await con.run(
      `INSERT INTO ${dups} SELECT key FROM ${hotTable(topic)} GROUP BY key
       HAVING count(*) > 1 OR bool_or(payload IS NULL)`,
    );
    if (files.length) {
      await con.run(
        `INSERT INTO ${dups} SELECT DISTINCT h.key FROM ${hotTable(topic)} h
         SEMI JOIN (SELECT key FROM read_parquet([${files.map(sqlString).join(", ")}])) f
           ON h.key = f.key`,
      );
    }
  }
  const [count] = await numbers(con, `SELECT count(*) FROM ${dups}`);
  if (count === 0) {
    // Every key stored once: read the files as they are (count(*) from their footers).
    await con.run(`${view} SELECT ${TIER_COLUMNS} FROM ${raw}`);
    return files;
  }
  await con.run(
    `${view}
     SELECT r.key, r.payload, r.timestamp, r._seq, r._change FROM ${raw} r
       ANTI JOIN ${dups} d ON r.key = d.key
     UNION ALL
     ${latest(`(SELECT r.* FROM ${raw} r SEMI JOIN ${dups} d ON r.key = d.key)`)}`,
  );
  return files;
}

function parquet(files: string[], tier: string): string {
  return `SELECT ${TIER_COLUMNS}, '${tier}' AS _tier FROM read_parquet([${
    files.map(sqlString).join(", ")
  }])`;
}

/** The warm files of a topic, complete ones only. */
export async function warmFiles(warmDir: string, topic: string): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(join(warmDir, topic))) {
      if (entry.isFile && parseTierPath(`${topic}/${entry.name}`)) {
        files.push(join(warmDir, topic, entry.name));
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files.sort();
}

/** The cold files of a topic, fetched into the cache directory when missing there. */
async function fetchCold(
  store: ColdStore,
  topic: string,
  opts: TierQueryOptions,
): Promise<string[]> {
  const objects = (await store.list(topic)).filter((o) => parseTierPath(o.path));
  const cacheDir = opts.config.tierPaths.cacheDir;
  const missing: typeof objects = [];
  for (const object of objects) {
    const local = join(cacheDir, object.path);
    const stat = await Deno.stat(local).catch(() => undefined);
    if (stat?.size !== object.size) missing.push(object);
  }
  if (missing.length) {
    const total = missing.reduce((n, o) => n + o.size, 0);
    const task = (opts.progress ?? noProgress).start(`fetch ${topic} from cold`, total, "bytes");
    try {
      for (const object of missing) {
        await store.get(object.path, join(cacheDir, object.path), object.size);
        task.advance(object.size);
      }
    } finally {
      task.done();
    }
  }
  return objects.map((o) => join(cacheDir, o.path)).sort();
}

async function run(con: DuckDBConnection, sql: string, maxRows?: number): Promise<TierAnswer> {
  let reader;
  try {
    reader = maxRows === undefined
      ? await con.runAndReadAll(sql)
      : await con.runAndReadUntil(sql, maxRows + 1);
  } catch (error) {
    const message = firstLine(error);
    if (/No files found|No such file/i.test(message)) throw error;
    throw new TierQueryError(message);
  }
  const all = reader.getRowsJS();
  const truncated = maxRows !== undefined && all.length > maxRows;
  return {
    columns: reader.columnNames().map(sqliteColumnName),
    rows: (truncated ? all.slice(0, maxRows) : all).map((row) => row.map(plain)),
    truncated,
  };
}

/** DuckDB's JS values as plain JSON-able values: BIGINT as a number when exact. */
function plain(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : String(value);
  }
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object" && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}
