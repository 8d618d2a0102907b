/**
 * The engine's memory (RSS) with 1M hot rows: idle after start, the peak while the
 * rows are ingested over HTTP, and settled afterwards, with the size of the shards on
 * disk. The engine runs as its own process. Prints one JSON line.
 *
 *   deno run -A bench/memory.ts [--rows 1000000]
 */
import { parseArgs } from "node:util";
import { spawnEngine } from "../tests/_process.ts";
import { processMemory } from "./_observe.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { rows: { type: "string", default: "1000000" } },
});
const ROWS = Number(values.rows);
const BATCH = 5000;

/** Resident memory in MiB, read from /proc (the engine must be running). */
const memory = async (pid: number) => (await processMemory(pid))!;
const mib = (bytes: number) => Math.round(bytes / 1048576);

const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-memory-" });
await Deno.writeTextFile(
  `${dir}/litejoin.yaml`,
  `engine: { data_dir: ./data, shard_count: 4 }
http: { listen: "127.0.0.1:0" }
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id, max_body: 16MiB }
  - { name: customers_in, type: http, path: /customers, topic: customers, key: id }
joins:
  - name: big_orders
    key: id
    sql: |
      SELECT o.key AS id, json_extract(o.payload, '$.amount') AS amount, json_extract(c.payload, '$.name') AS name
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
      WHERE json_extract(o.payload, '$.amount') > 495
    sinks: [db]
sinks:
  - { name: db, type: sqlite, path: ./results.db }
`,
);
const engine = await spawnEngine(dir);
const pid = engine.child.pid;
await new Promise((r) => setTimeout(r, 1000));
const idle = (await memory(pid)).rss;
let peak = idle;
const sampler = setInterval(async () => peak = Math.max(peak, (await memory(pid)).rss), 100);

const post = async (path: string, body: unknown[]) => {
  const response = await fetch(`${engine.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await response.body?.cancel();
  if (response.status !== 202) throw new Error(`POST ${path} answered ${response.status}`);
};
await post(
  "/customers",
  Array.from({ length: 1000 }, (_, i) => ({ id: `c${i}`, name: `customer ${i}` })),
);
const started = performance.now();
let next = 0;
await Promise.all(Array.from({ length: 4 }, async () => {
  while (next < ROWS) {
    const from = next;
    next += BATCH;
    await post(
      "/in",
      Array.from({ length: Math.min(BATCH, ROWS - from) }, (_, j) => ({
        id: `o${from + j}`,
        customer_id: `c${(from + j) % 1000}`,
        amount: (from + j) % 500,
        note: "an order payload of typical size, with a few fields",
      })),
    );
  }
}));
const ingestSeconds = (performance.now() - started) / 1000;
await new Promise((r) => setTimeout(r, 5000));
clearInterval(sampler);
const settled = await memory(pid);
let diskBytes = 0;
for (const entry of Deno.readDirSync(`${dir}/data`)) {
  if (/^shard_\d+\.db/.test(entry.name)) {
    diskBytes += Deno.statSync(`${dir}/data/${entry.name}`).size;
  }
}
engine.child.kill("SIGTERM");
await engine.exited;
await Deno.remove(dir, { recursive: true });
console.log(JSON.stringify({
  bench: "memory",
  hot_rows: ROWS,
  rss_mib: {
    idle: Math.round(idle),
    peak_during_ingest: Math.round(peak),
    settled: Math.round(settled.rss),
    settled_anonymous: Math.round(settled.anon),
    settled_mapped_files: Math.round(settled.file),
  },
  shards_on_disk_mib: mib(diskBytes),
  ingest_seconds: Number(ingestSeconds.toFixed(1)),
  note:
    "RSS of the engine process (all threads); one delta join over the rows with an SQLite sink. " +
    "Readers map shard files (mmap): mapped pages are the OS page cache, shared and reclaimable; " +
    "settled_anonymous is the engine's own memory",
}));
