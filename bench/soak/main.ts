/**
 * The soak: a mixed load on one engine process for ten minutes, sampled every 10 s,
 * and a verdict on whether its memory stays flat once warmed up.
 *
 *   deno task soak                       # 10 minutes
 *   deno task soak --minutes 2 --rate 100
 *   deno task soak --v8-flags=--gc-global   # V8 flags for the engine, e.g. every GC a full one
 *
 * Load: orders over HTTP (JSON and NDJSON batches, and single POSTs) at `--rate` per
 * second; customers from a generate source; a delta LEFT JOIN of the two to a webhook
 * (this process) and an SQLite sink; a 10 s tumbling window and a customer board to an
 * SSE sink with four live clients (one reconnects every 30 s) whose replay buffer of
 * 1,000 events fills within the warm-up (the default 10,000 would take ~14 minutes at this
 * rate, and a buffer filling up is warm-up, not a leak); retention of 1 minute, so rows
 * are deleted all along.
 *
 * Each sample: VmRSS, RssAnon and RssFile of the engine (readers memory-map the shards,
 * so file pages inflate VmRSS: RssAnon is what a leak grows), V8 heap, committed
 * messages per second, acknowledged orders per second, POST → webhook latency p50/p99
 * over the interval, DLQ depth, data directory size. After the warm-up (the first 4
 * minutes, or 40% of a shorter run) memory is flat when the least-squares slope of
 * RssAnon is at most 0.5 MiB/min and the mean of the last third is at most 1.10 × the
 * first third's. Four minutes is the engine's own warm-up under this load: in a
 * 20-minute run the main thread's malloc arena and V8 heap grew until minute 4 (RssAnon
 * 171 → 180 MiB from minute 2 to 5, /proc/<pid>/smaps) and stayed level to minute 20.
 * Prints a table, then one JSON line; exits 1 if memory is not flat or an acknowledged
 * order never reached the webhook.
 */
import { parseArgs } from "node:util";
import { spawnEngine } from "../../tests/_process.ts";
import { ResultView } from "../../tests/_sse.ts";
import { dirMiB, mean, metrics, processMemory, quantile, slope, total } from "../_observe.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "200" },
    interval: { type: "string", default: "10" },
    "v8-flags": { type: "string" },
  },
});
const MINUTES = Number(values.minutes);
const RATE = Number(values.rate);
const INTERVAL_S = Number(values.interval);
const CUSTOMERS = 1000;
const WARMUP_S = 240;
const SLOPE_LIMIT = 0.5; // MiB per minute
const RATIO_LIMIT = 1.1;
if (!(MINUTES > 0) || !(RATE > 0) || !(INTERVAL_S > 0)) {
  console.error("soak: --minutes, --rate and --interval take positive numbers");
  Deno.exit(2);
}

const now = () => performance.timeOrigin + performance.now();

// The webhook: latency of each order's first result, and every order key received.
let latencies: number[] = [];
const received = new Set<string>();
let results = 0;
const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
  const batch = await request.json() as {
    name: string;
    key: string;
    row: { sent?: number };
    _change?: { op: string };
  }[];
  const at = now();
  for (const r of batch) {
    results++;
    if (r.name !== "enriched" || r._change?.op !== "insert") continue;
    if (!received.has(r.key)) latencies.push(at - r.row.sent!);
    received.add(r.key);
  }
  return new Response("ok");
});

const dir = await Deno.makeTempDir({ prefix: "litejoin-soak-" });
await Deno.writeTextFile(
  `${dir}/litejoin.yaml`,
  `engine: { data_dir: ./data, shard_count: 4, retention: 1m, retention_interval: 5s }
http: { listen: "127.0.0.1:0" }
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
  - name: customers_gen
    type: generate
    topic: customers
    rate: 20
    seed: 7
    template: { id: "c{{mod ${CUSTOMERS}}}", name: "{{pick ann bob cy dee}}", tier: "{{int 1 5}}" }
joins:
  - name: enriched
    key: order_id
    sql: |
      SELECT o.key AS order_id, json_extract(o.payload, '$.amount') AS amount,
             json_extract(o.payload, '$.sent') AS sent, json_extract(c.payload, '$.name') AS customer
      FROM orders o LEFT JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
    sinks: [hook, db]
  - name: board
    key: customer_id
    sql: SELECT key AS customer_id, json_extract(payload, '$.tier') AS tier FROM customers
    sinks: [live]
windows:
  - name: revenue_10s
    type: tumbling
    size: 10s
    sql: |
      SELECT count(*) AS orders, sum(json_extract(payload, '$.amount')) AS revenue
      FROM orders WHERE timestamp >= :window_start AND timestamp < :window_end
    sinks: [live, hook]
sinks:
  - { name: hook, type: http, url: "http://127.0.0.1:${receiver.addr.port}/hook" }
  - { name: db, type: sqlite, path: ./data/results.db, table: enriched }
  - { name: live, type: sse, path: /live, replay_buffer: 1000 }
`,
);
const v8Flags = values["v8-flags"];
const engine = await spawnEngine(dir, v8Flags ? { DENO_V8_FLAGS: v8Flags } : {});
const pid = engine.child.pid;
console.error(`soak: ${MINUTES} min, ${RATE} orders/s, engine pid ${pid} on ${engine.url}, ${dir}`);

// SSE: three clients that stay, one that reconnects (snapshot, then stream) every 30 s.
const views = await Promise.all(
  [0, 1, 2, 3].map(() => new ResultView(engine.url, "/live").hydrate()),
);
let churned = 0;
const churn = setInterval(async () => {
  await views[3].close();
  views[3] = await new ResultView(engine.url, "/live").hydrate();
  churned++;
}, 30_000);

// Orders: every 100 ms one batch of 80% of the tick's share (JSON and NDJSON in turn)
// and the rest as single POSTs.
let sent = 0;
let acked = 0;
let refused = 0;
const post = (body: string, type: string, count: number) =>
  fetch(`${engine.url}/orders`, { method: "POST", headers: { "content-type": type }, body }).then(
    async (r) => {
      await r.body?.cancel();
      if (r.status === 202) acked += count;
      else refused += count;
    },
    () => refused += count,
  );
const order = () => {
  const n = sent++;
  return { id: `o${n}`, customer_id: `c${n % CUSTOMERS}`, amount: n % 97, sent: now() };
};
const perTick = RATE / 10;
let tick = 0;
const started = performance.now();
const load = setInterval(() => {
  const due = Math.round(perTick * (tick + 1)) - Math.round(perTick * tick);
  const batch = Array.from({ length: Math.round(due * 0.8) }, order);
  if (batch.length) {
    if (tick % 2) post(JSON.stringify(batch), "application/json", batch.length);
    else {
      post(batch.map((o) => JSON.stringify(o)).join("\n"), "application/x-ndjson", batch.length);
    }
  }
  for (let i = batch.length; i < due; i++) post(JSON.stringify(order()), "application/json", 1);
  tick++;
}, 100);

interface Sample {
  t: number;
  rss: number;
  anon: number;
  file: number;
  heap: number;
  committed_per_s: number;
  acked_per_s: number;
  p50_ms: number;
  p99_ms: number;
  dlq: number;
  data_mib: number;
  sse_events: number;
}
const samples: Sample[] = [];
const columns = ["t s", "rss", "anon", "file", "heap", "commit/s", "acked/s", "p50 ms", "p99 ms"]
  .concat(["dlq", "data MiB", "sse ev"]);
const widths = [6, 7, 7, 7, 7, 9, 8, 8, 8, 5, 9, 8];
const line = (cells: (string | number)[]) =>
  cells.map((c, i) => String(c).padStart(widths[i])).join(" ");
console.log("memory in MiB (RssAnon: heaps and caches; RssFile: mapped shard files)");
console.log(line(columns));

let lastCommitted = 0;
let lastAcked = 0;
let lastAt = performance.now();
const end = started + MINUTES * 60_000;
while (performance.now() < end) {
  await new Promise((r) => setTimeout(r, Math.min(INTERVAL_S * 1000, end - performance.now())));
  const [memory, series] = await Promise.all([processMemory(pid), metrics(engine.url)]);
  if (!memory) throw new Error(`the engine exited during the soak:\n${engine.log()}`);
  const at = performance.now();
  const seconds = (at - lastAt) / 1000;
  const committed = total(series, "litejoin_shard_messages_total");
  const interval = latencies;
  latencies = [];
  const sample: Sample = {
    t: Math.round((at - started) / 1000),
    rss: round(memory.rss),
    anon: round(memory.anon),
    file: round(memory.file),
    heap: round(total(series, "litejoin_heap_used_bytes") / 1024 / 1024),
    committed_per_s: Math.round((committed - lastCommitted) / seconds),
    acked_per_s: Math.round((acked - lastAcked) / seconds),
    p50_ms: round(quantile(interval, 0.5)),
    p99_ms: round(quantile(interval, 0.99)),
    dlq: total(series, "litejoin_dlq_entries", { status: "retrying" }) +
      total(series, "litejoin_dlq_entries", { status: "dead" }),
    data_mib: round(dirMiB(`${dir}/data`)),
    sse_events: views.reduce((n, v) => n + v.applied, 0),
  };
  samples.push(sample);
  console.log(line(Object.values(sample)));
  lastCommitted = committed;
  lastAcked = acked;
  lastAt = at;
}
clearInterval(load);
clearInterval(churn);

// Every acknowledged order must reach the webhook.
const deadline = performance.now() + 60_000;
while (received.size < acked && performance.now() < deadline) {
  await new Promise((r) => setTimeout(r, 100));
}
const missing = acked - received.size;
const sse = {
  clients: views.length,
  reconnects: churned,
  events: views.reduce((n, v) => n + v.applied, 0),
  resets: views.reduce((n, v) => n + v.resets, 0),
  gaps: views.reduce((n, v) => n + v.anomalies.length, 0),
  board_rows: views[0].rows("board").length,
};
await Promise.all(views.map((v) => v.close()));
engine.child.kill("SIGTERM");
const exit = await engine.exited;
await receiver.shutdown();

// The verdict, on RssAnon after the warm-up.
const warmupS = Math.min(WARMUP_S, MINUTES * 60 * 0.4);
const measured = samples.filter((s) => s.t > warmupS);
const third = Math.max(1, Math.floor(measured.length / 3));
const first = mean(measured.slice(0, third).map((s) => s.anon));
const last = mean(measured.slice(-third).map((s) => s.anon));
const slopePerMin = slope(measured.map((s) => s.t / 60), measured.map((s) => s.anon));
const enough = measured.length >= 3;
const flat = enough && slopePerMin <= SLOPE_LIMIT && last / first <= RATIO_LIMIT;
const all = samples.slice(1); // the first interval includes start-up
const summary = {
  bench: "soak",
  date: new Date().toISOString(),
  minutes: MINUTES,
  v8_flags: v8Flags,
  orders_per_s: RATE,
  generated_per_s: 20,
  sent,
  acknowledged: acked,
  refused,
  delivered_orders: received.size,
  missing_orders: missing,
  webhook_results: results,
  sse,
  engine_exit_code: exit.code,
  latency_ms: {
    p50_median: round(quantile(all.map((s) => s.p50_ms), 0.5)),
    p99_median: round(quantile(all.map((s) => s.p99_ms), 0.5)),
    p99_max: round(Math.max(...all.map((s) => s.p99_ms))),
  },
  committed_per_s_mean: Math.round(mean(all.map((s) => s.committed_per_s))),
  dlq_max: Math.max(...samples.map((s) => s.dlq)),
  data_mib: { start: samples[0]?.data_mib, end: samples.at(-1)?.data_mib },
  memory: {
    warmup_s: warmupS,
    samples_after_warmup: measured.length,
    rss_anon_mib: { first_third: round(first), last_third: round(last) },
    rss_mib: {
      first_third: round(mean(measured.slice(0, third).map((s) => s.rss))),
      last_third: round(mean(measured.slice(-third).map((s) => s.rss))),
    },
    slope_mib_per_min: Number(slopePerMin.toFixed(3)),
    ratio_last_to_first: Number((last / first).toFixed(3)),
    limits: { slope_mib_per_min: SLOPE_LIMIT, ratio: RATIO_LIMIT },
    flat,
  },
  note: enough
    ? "shared 2-core machine: latency and rates are noisy; the memory verdict is on RssAnon"
    : "too short: fewer than 3 samples after the warm-up",
};
console.log(JSON.stringify(summary));
await Deno.remove(dir, { recursive: true });
if (!flat) console.error("soak: memory is NOT flat after the warm-up");
if (missing > 0) console.error(`soak: ${missing} acknowledged orders never reached the webhook`);
Deno.exit(flat && missing === 0 && exit.code === 0 ? 0 : 1);

function round(n: number): number {
  return Number.isFinite(n) ? Math.round(n * 10) / 10 : n;
}
