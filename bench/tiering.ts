/**
 * Tiering throughput and warm-tier query latency. Prints one JSON line.
 *
 *   deno run -A bench/tiering.ts [--rows 1000000] [--shards 4] [--repeat 5]
 *
 * Writes `rows` orders through the shard writer (timestamps over ten hours), compacts
 * them all to the warm tier (read from the shards, Parquet written and verified, rows
 * deleted from the shards: the whole move) and reports rows per second. Then asks the
 * warm tier questions as `litejoin query --tier warm` does (DuckDB opened per question,
 * JSON paths typed from the data) and reports the median latency of each.
 */
import { parseArgs } from "node:util";
import { Writer } from "../engine/store/writer.ts";
import { Meta } from "../engine/store/meta.ts";
import { parseConfig } from "../engine/mod.ts";
import { silentLogger } from "../engine/log.ts";
import { openDuck } from "../engine/tiers/duck.ts";
import { Compactor } from "../engine/tiers/compactor.ts";
import { noProgress } from "../engine/progress.ts";
import { queryTiers } from "../engine/tiers/query.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rows: { type: "string", default: "1000000" },
    shards: { type: "string", default: "4" },
    repeat: { type: "string", default: "5" },
  },
});
const ROWS = Number(values.rows);
const SHARDS = Number(values.shards);
const REPEAT = Number(values.repeat);
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

const order = (i: number) => ({
  topic: "orders",
  key: `o-${i}`,
  timestamp: T0 + Math.floor((i / ROWS) * 10 * HOUR),
  payload: {
    id: `o-${i}`,
    customer_id: `c-${i % 10_000}`,
    amount: (i % 500) + 0.5,
    qty: i % 9,
    status: ["open", "paid", "shipped"][i % 3],
    note: "a typical order payload of a hundred-odd bytes",
  },
});

const QUESTIONS: Record<string, string> = {
  count: "SELECT count(*) FROM orders",
  sum_amount: "SELECT sum(json_extract(payload, '$.amount')) FROM orders",
  key_lookup: `SELECT key, json_extract(payload, '$.status') FROM orders WHERE key = 'o-${
    Math.floor(ROWS * 0.77)
  }'`,
  group_by_status:
    "SELECT json_extract(payload, '$.status') AS s, count(*), sum(json_extract(payload, '$.qty')) FROM orders GROUP BY 1 ORDER BY 1",
  top_customers:
    "SELECT json_extract(payload, '$.customer_id') AS c, sum(json_extract(payload, '$.amount')) AS spent FROM orders WHERE json_extract(payload, '$.status') = 'paid' GROUP BY 1 ORDER BY 2 DESC LIMIT 3",
  one_hour:
    `SELECT count(*), sum(json_extract(payload, '$.amount')) FROM orders WHERE timestamp >= ${
      T0 + 3 * HOUR
    } AND timestamp < ${T0 + 4 * HOUR}`,
};

const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-tiering-" });
const yaml = `engine: { data_dir: ./data, shard_count: ${SHARDS}, retention: 1h }
topics: [{ name: orders }]
tiering: { enabled: true, partition: 1h }
`;
await Deno.writeTextFile(`${dir}/litejoin.yaml`, yaml);
const config = parseConfig(yaml, `${dir}/litejoin.yaml`);
await Deno.mkdir(config.engine.data_dir, { recursive: true });
try {
  const writer = await Writer.open({
    dataDir: config.engine.data_dir,
    shardCount: SHARDS,
    topics: ["orders"],
    synchronous: "normal",
    flushIntervalMs: 10,
    batchSize: 5000,
    maxBacklog: 1_000_000,
    tombstones: true,
  });
  for (let i = 0; i < ROWS; i += 50_000) {
    await writer.write(Array.from({ length: Math.min(50_000, ROWS - i) }, (_, j) => order(i + j)));
  }
  const meta = new Meta(`${config.engine.data_dir}/meta.db`);
  const duck = await openDuck({ tempDir: `${config.tierPaths.warmDir}/.duckdb_tmp` });
  await Deno.mkdir(config.tierPaths.warmDir, { recursive: true });
  const compactor = new Compactor({
    dataDir: config.engine.data_dir,
    shardCount: SHARDS,
    warmDir: config.tierPaths.warmDir,
    partition: HOUR,
    busyTimeoutMs: 5000,
    writer,
    meta,
    con: duck.con,
    log: silentLogger,
  });
  const started = performance.now();
  const files = await compactor.compact("orders", T0 + 11 * HOUR, noProgress);
  const seconds = (performance.now() - started) / 1000;
  const moved = files.reduce((n, f) => n + f.moved, 0);
  if (moved !== ROWS) throw new Error(`compacted ${moved} of ${ROWS} rows`);
  let bytes = 0;
  for (const f of files) {
    bytes += (await Deno.stat(`${config.tierPaths.warmDir}/${f.file.path}`)).size;
  }
  duck.close();
  meta.close();
  await writer.close();

  const latency: Record<string, { first_ms: number; median_ms: number }> = {};
  for (const [name, sql] of Object.entries(QUESTIONS)) {
    const times: number[] = [];
    for (let r = 0; r < REPEAT; r++) {
      const t = performance.now();
      const answer = await queryTiers(sql, { config, tier: "warm" });
      times.push(performance.now() - t);
      if (answer.rows.length === 0) throw new Error(`${name}: no rows`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    latency[name] = {
      first_ms: Math.round(times[0]),
      median_ms: Math.round(sorted[Math.floor(sorted.length / 2)]),
    };
  }
  console.log(JSON.stringify({
    bench: "tiering",
    rows: ROWS,
    shards: SHARDS,
    compaction_rows_per_s: Math.round(ROWS / seconds),
    compaction_seconds: Number(seconds.toFixed(2)),
    warm_files: files.length,
    warm_bytes: bytes,
    warm_query_ms: latency,
    note:
      "each query opens DuckDB, types its JSON paths from the data and answers, as litejoin query does",
  }));
} finally {
  await Deno.remove(dir, { recursive: true });
}
