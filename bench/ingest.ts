/**
 * End-to-end HTTP ingest throughput against the raw `node:sqlite` upsert rate of the
 * same rows, in one run. Prints one JSON line.
 *
 *   deno run -A bench/ingest.ts [--rows 200000] [--seconds 5]
 *
 * The engine runs as its own process (`litejoin run`), as in production; this process
 * is the load generator. Single-message POSTs come from `wrk` (Debian's package) when it
 * is installed: Deno's own HTTP client spends more CPU per request than the engine, and
 * on a small machine it, not the engine, sets the pace. The Deno client's figure is
 * reported beside it.
 */
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { spawnEngine } from "../tests/_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rows: { type: "string", default: "200000" },
    seconds: { type: "string", default: "5" },
    batch: { type: "string", default: "1000" },
  },
});
const ROWS = Number(values.rows);
const SECONDS = Number(values.seconds);
const BATCH = Number(values.batch);

const row = (i: number) => ({
  id: `order-${i}`,
  customer_id: `c-${i % 10_000}`,
  amount: i % 500,
  status: i % 3 ? "paid" : "open",
  note: "a typical order payload of a hundred-odd bytes",
});

/** Raw single-writer upserts of the same rows: prepared statement, one transaction per batch. */
function rawUpsertRate(dir: string): number {
  const db = new DatabaseSync(`${dir}/raw.db`);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL");
  db.exec(
    `CREATE TABLE orders (key TEXT PRIMARY KEY, payload TEXT NOT NULL, timestamp INTEGER NOT NULL);
           CREATE INDEX orders_timestamp ON orders(timestamp)`,
  );
  const upsert = db.prepare(
    "INSERT OR REPLACE INTO orders (key, payload, timestamp) VALUES (?, ?, ?)",
  );
  const started = performance.now();
  for (let b = 0; b < ROWS; b += BATCH) {
    db.exec("BEGIN");
    for (let i = b; i < Math.min(ROWS, b + BATCH); i++) {
      const r = row(i);
      upsert.run(r.id, JSON.stringify(r), Date.now());
    }
    db.exec("COMMIT");
  }
  const rate = ROWS / ((performance.now() - started) / 1000);
  db.close();
  return rate;
}

async function post(url: string, body: string): Promise<number> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  await response.body?.cancel();
  return response.status;
}

/** Arrays of BATCH rows from 4 concurrent clients until ROWS are accepted. */
async function batchedRate(url: string): Promise<number> {
  const bodies: string[] = [];
  for (let b = 0; b < ROWS; b += BATCH) {
    bodies.push(
      JSON.stringify(Array.from({ length: Math.min(BATCH, ROWS - b) }, (_, i) => row(b + i))),
    );
  }
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const status = await post(url, body);
      if (status !== 202) throw new Error(`batched POST answered ${status}`);
    }
  }));
  return ROWS / ((performance.now() - started) / 1000);
}

/**
 * One message per POST from 50 connections with wrk, for SECONDS, each with a new key;
 * undefined when wrk is not installed (`apt-get install wrk`).
 */
async function wrkRate(
  url: string,
): Promise<{ rate: number; errors: number; latencyMs: number } | undefined> {
  const script = await Deno.makeTempFile({ suffix: ".lua" });
  await Deno.writeTextFile(
    script,
    `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format('{"id":"w%d-%d","customer_id":"c-%d","amount":%d,"status":"paid","note":"a typical order payload of a hundred-odd bytes"}', n, math.random(1, 1e9), n % 10000, n % 500))
end
`,
  );
  let out;
  try {
    out = await new Deno.Command("wrk", {
      args: ["-t2", "-c50", `-d${SECONDS}s`, "--latency", "-s", script, url],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch {
    return undefined;
  } finally {
    await Deno.remove(script);
  }
  const text = new TextDecoder().decode(out.stdout);
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const p50 = /50%\s+([\d.]+)(us|ms|s)/.exec(text);
  const latencyMs = p50
    ? Number(p50[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[p50[2]]
    : NaN;
  return Number.isFinite(rate) ? { rate, errors, latencyMs } : undefined;
}

/** One message per POST from 50 concurrent connections of Deno's fetch, for SECONDS. */
async function singleRate(url: string): Promise<{ rate: number; errors: number }> {
  let accepted = 0;
  let errors = 0;
  let i = ROWS;
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(Array.from({ length: 50 }, async () => {
    while (performance.now() < end) {
      const status = await post(url, JSON.stringify(row(i++)));
      if (status === 202) accepted++;
      else errors++;
    }
  }));
  return { rate: accepted / ((performance.now() - started) / 1000), errors };
}

const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-" });
await Deno.writeTextFile(
  `${dir}/litejoin.yaml`,
  `engine: { data_dir: ./data, shard_count: 4 }
http: { listen: "127.0.0.1:0" }
sources:
  - { name: orders_in, type: http, path: /ingest/orders, topic: orders, key: id, max_body: 16MiB }
`,
);
const raw = rawUpsertRate(dir);
const engine = await spawnEngine(dir);
try {
  const url = `${engine.url}/ingest/orders`;
  await post(url, JSON.stringify(row(-1))); // warm up the connection and the engine
  const batched = await batchedRate(url);
  const wrk = await wrkRate(url);
  const single = await singleRate(url);
  console.log(JSON.stringify({
    bench: "ingest",
    rows: ROWS,
    batch: BATCH,
    raw_upserts_per_s: Math.round(raw),
    http_batched_rows_per_s: Math.round(batched),
    batched_to_raw_ratio: Number((batched / raw).toFixed(3)),
    http_single_posts_per_s: wrk ? Math.round(wrk.rate) : null,
    single_post_errors: wrk ? wrk.errors : null,
    single_post_p50_ms: wrk ? wrk.latencyMs : null,
    single_post_client: wrk ? "wrk, 2 threads" : "wrk not installed (apt-get install wrk)",
    http_single_posts_per_s_deno_client: Math.round(single.rate),
    single_post_errors_deno_client: single.errors,
    single_post_connections: 50,
    targets: { batched_to_raw_ratio: 0.6, http_single_posts_per_s: 10_000 },
  }));
} finally {
  engine.child.kill("SIGTERM");
  await engine.exited;
  await Deno.remove(dir, { recursive: true });
}
