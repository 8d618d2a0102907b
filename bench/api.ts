/**
 * One API source polling 10,000 records over 100 cursor pages from a local server:
 * time of the first poll (all inserts), of a poll where nothing changed, and of one
 * where 1% changed, with the engine's memory and the size of its diff state in meta.db
 * (a hash and the JSON of every item). Prints one JSON line.
 *
 *   deno run -A bench/api.ts [--records 10000] [--page 100]
 *
 * The engine runs as its own process (`litejoin run`), so its RSS is its own; this
 * process serves the API.
 */
import { parseArgs } from "node:util";
import { spawnEngine } from "../tests/_process.ts";
import { startApiServer, users } from "../tests/_api_server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string", default: "10000" },
    page: { type: "string", default: "100" },
  },
});
const RECORDS = Number(values.records);
const PAGE = Number(values.page);

/** Resident and peak resident memory of a process, in MiB (Linux). */
async function memory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
  return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

const POLLED =
  /polled (\d+) page\(s\), (\d+) item\(s\) in (\d+) ms: (\d+) insert\(s\), (\d+) update/g;

/** Waits for the engine to log poll number `n` (1-based) and returns its figures. */
async function poll(log: () => string, n: number) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const polls = [...log().matchAll(POLLED)];
    if (polls.length >= n) {
      const [, pages, items, ms, inserts, updates] = polls[n - 1].map(Number);
      return { pages, items, ms, inserts, updates };
    }
    if (Date.now() > deadline) throw new Error(`poll ${n} did not finish:\n${log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const records = users(RECORDS);
const api = await startApiServer(records, { pageSize: PAGE });
const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-api-" });
await Deno.writeTextFile(
  `${dir}/litejoin.yaml`,
  `engine: { data_dir: ./data, shard_count: 4 }
http: { listen: "127.0.0.1:0" }
log: { level: debug }
sources:
  - name: users_api
    type: api
    url: "${api.url}/cursor"
    items: data
    pagination: { type: cursor, param: cursor, next: meta.next_cursor }
    max_pages: ${Math.ceil(RECORDS / PAGE) + 10}
    interval: 300ms
    topic: users
    key: id
    deletes: true
    previous: true
`,
);
const release = api.hold();
const engine = await spawnEngine(dir);
try {
  const idle = await memory(engine.child.pid);
  release();
  const first = await poll(engine.log, 1);
  const afterFirst = await memory(engine.child.pid);
  const unchanged = await poll(engine.log, 2);
  const changed = records.map((r, i) => i % 100 === 0 ? { ...r, plan: "enterprise" } : r);
  api.set(changed);
  let third = await poll(engine.log, 3);
  for (let n = 4; third.updates === 0; n++) third = await poll(engine.log, n);
  const end = await memory(engine.child.pid);
  const fileMib = (path: string) => {
    try {
      return Deno.statSync(path).size / 1024 / 1024;
    } catch {
      return 0;
    }
  };
  const metaMib = fileMib(`${dir}/data/meta.db`) + fileMib(`${dir}/data/meta.db-wal`);
  if (first.inserts !== RECORDS || third.updates !== RECORDS / 100) {
    throw new Error(`unexpected change counts: ${JSON.stringify({ first, third })}`);
  }
  console.log(JSON.stringify({
    bench: "api",
    records: RECORDS,
    pages: first.pages,
    first_poll_ms: first.ms,
    first_poll_records_per_s: Math.round(RECORDS / (first.ms / 1000)),
    unchanged_poll_ms: unchanged.ms,
    one_percent_changed_poll_ms: third.ms,
    rss_mib_before_first_poll: Math.round(idle.rss),
    rss_mib_after_first_poll: Math.round(afterFirst.rss),
    rss_mib_end: Math.round(end.rss),
    peak_rss_mib: Math.round(end.peak),
    meta_db_mib: Number(metaMib.toFixed(1)),
  }));
} finally {
  engine.child.kill("SIGTERM");
  await engine.exited;
  await api.stop();
  await Deno.remove(dir, { recursive: true });
}
