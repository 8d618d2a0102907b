/**
 * Dead-letter queue throughput: how fast failed results are written to dlq.db (the
 * failure path a sink waits on), and how fast the retry worker drains them to a real
 * local webhook. Prints one JSON line.
 *
 *   deno run -A bench/dlq.ts [--rows 50000] [--batch 500]
 */
import { parseArgs } from "node:util";
import { Dlq } from "../engine/dlq/dlq.ts";
import { HttpSink } from "../engine/sinks/http.ts";
import { DeliveryError } from "../engine/sinks/sink.ts";
import { Metrics } from "../engine/metrics.ts";
import { silentLogger } from "../engine/log.ts";
import { systemClock } from "../engine/types.ts";
import type { Result } from "../engine/types.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rows: { type: "string", default: "50000" },
    batch: { type: "string", default: "500" },
  },
});
const ROWS = Number(values.rows);
const BATCH = Number(values.batch);

let received = 0;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  received += (await req.json() as unknown[]).length;
  return new Response("ok");
});
const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-dlq-" });
const dlq = new Dlq({
  enabled: true,
  max_attempts: 8,
  backoff: { initial: 1, max: 1, multiplier: 1, jitter: 0 },
  prune_delivered_after: 0,
}, { dataDir: dir, clock: systemClock, log: silentLogger, metrics: new Metrics() });
const sink = new HttpSink("hook", {
  url: `http://127.0.0.1:${server.addr.port}/hook`,
  headers: {},
  timeout: 10_000,
  retries: 0,
  backoff: { initial: 1, max: 1, multiplier: 1, jitter: 0 },
  max_batch: BATCH,
});
dlq.gate(sink, BATCH);

const result = (i: number): Result => ({
  name: "enriched_orders",
  key: `order-${i}`,
  row: { order_id: `order-${i}`, amount: i % 500, customer: "Ada Lovelace", tier: "gold" },
  timestamp: Date.now(),
  _change: { op: "insert" },
});

const down = new DeliveryError("connection refused");
let started = performance.now();
for (let i = 0; i < ROWS; i += BATCH) {
  const batch = Array.from({ length: Math.min(BATCH, ROWS - i) }, (_, j) => result(i + j));
  await dlq.onFailure("hook", batch, down);
}
const writeSeconds = (performance.now() - started) / 1000;

await new Promise((r) => setTimeout(r, 5));
started = performance.now();
while ((await dlq.api.stats()).by_sink.hook.retrying > 0) await dlq.worker.runDue();
const drainSeconds = (performance.now() - started) / 1000;

console.log(JSON.stringify({
  bench: "dlq",
  rows: ROWS,
  batch: BATCH,
  write_results_per_s: Math.round(ROWS / writeSeconds),
  write_batch_ms: +((writeSeconds * 1000) / Math.ceil(ROWS / BATCH)).toFixed(2),
  drain_results_per_s: Math.round(ROWS / drainSeconds),
  received,
}));
await dlq.stop();
dlq.close();
await server.shutdown();
await Deno.remove(dir, { recursive: true });
