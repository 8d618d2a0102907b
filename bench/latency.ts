/**
 * End-to-end latency: from an HTTP POST to the webhook delivery of the join result it
 * causes, at a steady 5,000 messages per second. The engine runs as its own process;
 * this process sends the load and receives the webhooks. Prints one JSON line.
 *
 *   deno run -A bench/latency.ts [--rate 5000] [--seconds 20]
 */
import { parseArgs } from "node:util";
import { spawnEngine } from "../tests/_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rate: { type: "string", default: "5000" },
    seconds: { type: "string", default: "20" },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const TICK_MS = 10;
const WARMUP_S = 3;

const now = () => performance.timeOrigin + performance.now();
const latencies: number[] = [];
let delivered = 0;
const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
  const results = await request.json() as { row: { sent: number } }[];
  const at = now();
  for (const r of results) {
    delivered++;
    latencies.push(at - r.row.sent);
  }
  return new Response("ok");
});

const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-latency-" });
await Deno.writeTextFile(
  `${dir}/litejoin.yaml`,
  `engine: { data_dir: ./data, shard_count: 4 }
http: { listen: "127.0.0.1:0" }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - name: copy
    key: id
    sql: "SELECT key AS id, json_extract(payload, '$.sent') AS sent FROM events"
    sinks: [hook]
sinks:
  - { name: hook, type: http, url: "http://127.0.0.1:${receiver.addr.port}/hook", max_batch: 1000 }
`,
);
const engine = await spawnEngine(dir);
let sent = 0;
let refused = 0;
const perTick = (RATE * TICK_MS) / 1000;
const connections = 8;
const started = performance.now();
const end = started + SECONDS * 1000;
let measuredFrom = 0;
// Each tick sends its share in `connections` requests; the ticks keep the rate steady.
for (let tick = 0; performance.now() < end; tick++) {
  if (!measuredFrom && performance.now() - started > WARMUP_S * 1000) {
    measuredFrom = latencies.length;
  }
  const due = Math.round(perTick * (tick + 1)) - Math.round(perTick * tick);
  const per = Math.ceil(due / connections);
  for (let c = 0; c < connections; c++) {
    const batch = Array.from(
      { length: Math.min(per, due - c * per) },
      () => ({ id: `e${sent++}`, sent: now() }),
    );
    if (batch.length === 0) continue;
    fetch(`${engine.url}/in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(batch),
    }).then(async (r) => {
      await r.body?.cancel();
      if (r.status !== 202) refused += batch.length;
    }, () => refused += batch.length);
  }
  const next = started + (tick + 1) * TICK_MS;
  await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
}
const deadline = performance.now() + 10_000;
while (delivered < sent - refused && performance.now() < deadline) {
  await new Promise((r) => setTimeout(r, 50));
}
const measured = latencies.slice(measuredFrom).sort((a, b) => a - b);
const at = (q: number) =>
  Number(measured[Math.min(measured.length - 1, Math.floor(q * measured.length))].toFixed(1));
engine.child.kill("SIGTERM");
await engine.exited;
await receiver.shutdown();
await Deno.remove(dir, { recursive: true });
console.log(JSON.stringify({
  bench: "latency",
  rate_per_s: RATE,
  seconds: SECONDS,
  sent,
  refused,
  delivered,
  latency_ms: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
  path: "HTTP POST (8 connections, batches every 10 ms) → commit → delta join → webhook POST",
  note: `first ${WARMUP_S}s excluded; engine and load share this machine's cores`,
}));
