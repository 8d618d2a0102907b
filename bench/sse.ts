/**
 * 1,000 concurrent SSE clients on one sink while messages are ingested and joined.
 * Reports events delivered and clients dropped, and the latency the SSE path adds:
 * from the join producing a result (its `timestamp`) to a client holding the event.
 * Prints one JSON line.
 *
 *   deno run -A bench/sse.ts [--clients 1000] [--seconds 10] [--rate 1000] [--keys 500]
 *
 * The engine runs as its own process; this process ingests and runs every client, so
 * on a small machine the clients' own scheduling is part of the latency measured.
 */
import { parseArgs } from "node:util";
import { spawnEngine } from "../tests/_process.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    clients: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
    rate: { type: "string", default: "1000" },
    keys: { type: "string", default: "500" },
    sampled: { type: "string", default: "25" },
  },
});
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const KEYS = Number(values.keys);
const SAMPLED = Math.min(CLIENTS, Number(values.sampled));

const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-sse-" });
await Deno.writeTextFile(
  `${dir}/litejoin.yaml`,
  `engine: { data_dir: ./data, shard_count: 2 }
http: { listen: "127.0.0.1:0" }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - name: copy
    key: id
    sql: SELECT key AS id, json_extract(payload, '$.n') AS n, json_extract(payload, '$.sent_at') AS sent_at FROM events
    sinks: [live]
sinks:
  - { name: live, type: sse, path: /live, max_clients: ${CLIENTS + 10}, heartbeat: 0 }
`,
);

/** A client that counts events; a sampled one also parses them for latency. */
async function client(url: string, sampled: boolean, stats: Stats, ready: () => void) {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
  ready();
  const decoder = new TextDecoder();
  let text = "";
  let last = 0; // the last byte of the previous chunk
  for await (const chunk of response.body!) {
    const now = Date.now();
    if (!sampled) {
      // An event ends with "\n\n", and "\n\n\n" never occurs.
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
        if ((i === 0 ? last : chunk[i - 1]) === 10) stats.blocks++;
      }
      last = chunk[chunk.length - 1];
      continue;
    }
    text += decoder.decode(chunk, { stream: true });
    const blocks = text.split("\n\n");
    text = blocks.pop()!;
    for (const block of blocks) {
      stats.blocks++;
      const data = /^data: (.*)$/m.exec(block);
      if (!data || !/^event: copy$/m.test(block)) continue;
      const result = JSON.parse(data[1]);
      stats.added.push(now - result.timestamp);
      stats.endToEnd.push(now - result.row.sent_at);
    }
  }
  stats.ended++;
}

interface Stats {
  blocks: number;
  ended: number;
  added: number[];
  endToEnd: number[];
}

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

/** CPU seconds the process has used (Linux /proc; clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024);
}

async function metric(url: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}`) || l === name);
  return Number(line?.split(" ").at(-1) ?? 0);
}

const engine = await spawnEngine(dir);
try {
  const stats: Stats = { blocks: 0, ended: 0, added: [], endToEnd: [] };
  let connected = 0;
  const every = Math.max(1, Math.floor(CLIENTS / SAMPLED));
  const clients = Array.from(
    { length: CLIENTS },
    (_, i) =>
      client(`${engine.url}/live`, i % every === 0, stats, () => connected++).catch((error) => {
        stats.ended++;
        console.error(`client ${i}: ${error.message}`);
      }),
  );
  const connectStart = performance.now();
  while (connected < CLIENTS && stats.ended === 0) await new Promise((r) => setTimeout(r, 20));
  const connectMs = performance.now() - connectStart;
  const baseBlocks = stats.blocks; // the retry: preamble of every stream

  // Ingest: RATE messages per second in batches every 20 ms, over KEYS keys.
  let sent = 0;
  let refused = 0;
  const started = performance.now();
  const cpuBefore = cpuSeconds(engine.child.pid);
  const end = started + SECONDS * 1000;
  let n = 0;
  while (performance.now() < end) {
    const due = Math.floor(((performance.now() - started) / 1000) * RATE) - sent;
    if (due > 0) {
      const sentAt = Date.now();
      const batch = Array.from(
        { length: due },
        () => ({ id: `k${n % KEYS}`, n: n++, sent_at: sentAt }),
      );
      const response = await fetch(`${engine.url}/in`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(batch),
      });
      await response.body?.cancel();
      if (response.status === 202) sent += due;
      else refused += due;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const ingestSeconds = (performance.now() - started) / 1000;
  const engineCpu = (cpuSeconds(engine.child.pid) - cpuBefore) / ingestSeconds;
  // Let the last results reach the clients.
  const published = async () =>
    await metric(engine.url, "litejoin_sse_events_total", 'sink="live"');
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const events = await published();
    const delivered = stats.blocks - baseBlocks;
    if (delivered >= events * CLIENTS || (events === last && i > 20)) break;
    last = events;
    await new Promise((r) => setTimeout(r, 100));
  }
  const events = await published();
  const dropped = await metric(engine.url, "litejoin_sse_disconnects_total", 'reason="lagging"');
  const delivered = stats.blocks - baseBlocks; // heartbeats are off

  console.log(JSON.stringify({
    bench: "sse",
    clients: CLIENTS,
    seconds: Number(ingestSeconds.toFixed(1)),
    ingest_rate_target: RATE,
    ingested_per_s: Math.round(sent / ingestSeconds),
    ingest_refused: refused,
    events_published: events,
    events_delivered: delivered,
    events_expected: events * CLIENTS,
    delivered_ratio: Number((delivered / Math.max(1, events * CLIENTS)).toFixed(4)),
    clients_dropped: dropped,
    clients_ended: stats.ended,
    connect_all_ms: Math.round(connectMs),
    engine_cpu_cores: Number(engineCpu.toFixed(2)),
    engine_rss_mib: rssMiB(engine.child.pid),
    added_latency_ms: {
      p50: quantile(stats.added, 0.5),
      p99: quantile(stats.added, 0.99),
      max: quantile(stats.added, 1),
      samples: stats.added.length,
    },
    end_to_end_latency_ms: {
      p50: quantile(stats.endToEnd, 0.5),
      p99: quantile(stats.endToEnd, 0.99),
    },
  }));
  engine.child.kill("SIGTERM");
  await engine.exited;
  await Promise.all(clients);
} finally {
  try {
    engine.child.kill("SIGKILL");
  } catch { /* already gone */ }
  await Deno.remove(dir, { recursive: true });
}
