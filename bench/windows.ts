/**
 * Windows, end to end and in memory. Prints one JSON line:
 * - the delay from a window's close (end + grace) to its delivery at a webhook sink,
 *   p50/p99, for tumbling windows of 100 ms over an HTTP source, under load and with a
 *   light stream (where the timer, not traffic, closes windows);
 * - the cost of session tracking with 100k active keys: time per event, memory per
 *   session, closing them all, recording their starts in meta.db, and rebuilding
 *   them from the topic after a restart;
 * - closing many windows at once over a topic of many rows (`_windows_close.ts`):
 *   2,000 session and 2,000 tumbling windows over 100k events on payload time.
 *
 *   deno run -A bench/windows.ts [--seconds 8] [--rate 5000] [--keys 100000]
 *     [--close-rows 100000] [--close-keys 2000] [--part all|sessions|close]
 *
 * The engine runs as its own process (`litejoin run`); this process posts events and
 * receives results. The session part runs in a child with V8's gc exposed.
 */
import { parseArgs } from "node:util";
import { spawnEngine } from "../tests/_process.ts";
import { closeMany } from "./_windows_close.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "8" },
    rate: { type: "string", default: "5000" },
    keys: { type: "string", default: "100000" },
    part: { type: "string", default: "all" },
    "close-rows": { type: "string", default: "100000" },
    "close-keys": { type: "string", default: "2000" },
  },
});
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const KEYS = Number(values.keys);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function quantiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return {
    windows: sorted.length,
    p50_ms: Number(at(0.5)?.toFixed(1)),
    p99_ms: Number(at(0.99)?.toFixed(1)),
    max_ms: Number(sorted.at(-1)?.toFixed(1)),
  };
}

/** Close-to-delivery delays of 100 ms tumbling windows, under load then with a light stream. */
async function closeToDelivery() {
  let delays: number[] = [];
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const now = Date.now();
      for (const result of await req.json()) delays.push(now - result.row.window_end);
      return new Response("ok");
    },
  );
  const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-windows-" });
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    `engine: { data_dir: ./data, shard_count: 4 }
http: { listen: "127.0.0.1:0" }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
windows:
  - name: per_100ms
    type: tumbling
    size: 100ms
    sql: SELECT count(*) AS n FROM events WHERE timestamp >= :window_start AND timestamp < :window_end
    sinks: [hook]
sinks:
  - { name: hook, type: http, url: "http://127.0.0.1:${receiver.addr.port}/hook" }
`,
  );
  const engine = await spawnEngine(dir);
  let seq = 0;
  /** Posts `rate` events a second from 4 clients for `seconds`; returns events accepted. */
  const load = async (rate: number, seconds: number) => {
    const clients = rate >= 200 ? 4 : 1;
    const every = 20;
    const perPost = Math.max(1, Math.round((rate * every) / 1000 / clients));
    const end = performance.now() + seconds * 1000;
    let accepted = 0;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        const body = JSON.stringify(Array.from({ length: perPost }, () => ({ id: `e${seq++}` })));
        const response = await fetch(`${engine.url}/in`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        await response.body?.cancel();
        if (response.status === 202) accepted += perPost;
        await sleep(
          every * (rate >= 200 ? 1 : 1000 / every / rate) - (performance.now() - started),
        );
      }
    }));
    return accepted;
  };
  try {
    await load(RATE, 1); // warm up
    await sleep(300);
    delays = [];
    const accepted = await load(RATE, SECONDS);
    await sleep(300);
    const loaded = { ...quantiles(delays), events_per_s: Math.round(accepted / SECONDS) };
    delays = [];
    await load(20, Math.max(3, SECONDS / 2));
    await sleep(300);
    const light = { ...quantiles(delays), events_per_s: 20 };
    return { loaded, light };
  } finally {
    engine.child.kill("SIGTERM");
    await engine.exited;
    await receiver.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Session tracking with KEYS active keys (run with --v8-flags=--expose-gc). */
async function sessions() {
  const { SessionWindows } = await import("../engine/windows/session.ts");
  const { WindowProgress } = await import("../engine/windows/progress.ts");
  const { Meta } = await import("../engine/store/meta.ts");
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const T = Date.UTC(2030, 0, 1);
  const EVENTS = 5;
  gc();
  const heapBefore = Deno.memoryUsage().heapUsed;
  const state = new SessionWindows(60_000, undefined, 0);
  let started = performance.now();
  for (let e = 0; e < EVENTS; e++) {
    for (let k = 0; k < KEYS; k++) state.add(T + e * 1000 + (k % 1000), `user-${k}`);
  }
  const addNs = ((performance.now() - started) * 1e6) / (KEYS * EVENTS);
  gc();
  const bytes = (Deno.memoryUsage().heapUsed - heapBefore) / KEYS;

  const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-sessions-" });
  const meta = new Meta(`${dir}/meta.db`);
  const progress = new WindowProgress(meta, "visits", "bench");
  started = performance.now();
  progress.record(T, [0, 0, 0, 0], undefined, state.takeStarts());
  const recordMs = performance.now() - started;
  meta.close();

  started = performance.now();
  const closed = state.closeThrough(Infinity).length;
  const closeMs = performance.now() - started;

  const rebuildMs = await rebuild(dir, T);
  await Deno.remove(dir, { recursive: true });
  return {
    keys: KEYS,
    events: KEYS * EVENTS,
    add_ns_per_event: Math.round(addNs),
    heap_bytes_per_session: Math.round(bytes),
    heap_mb: Number(((bytes * KEYS) / 2 ** 20).toFixed(1)),
    record_starts_ms: Math.round(recordMs),
    close_all_ms: Math.round(closeMs),
    closed,
    rebuild_from_topic_ms: rebuildMs,
  };
}

/** Time for a restart to rebuild KEYS open sessions (2 events each) from the topic. */
async function rebuild(dir: string, T: number): Promise<number> {
  const { parseConfig } = await import("../engine/config/load.ts");
  const { Writer } = await import("../engine/store/writer.ts");
  const { Readers } = await import("../engine/store/readers.ts");
  const { Meta } = await import("../engine/store/meta.ts");
  const { Metrics } = await import("../engine/metrics.ts");
  const { silentLogger } = await import("../engine/log.ts");
  const { Windower } = await import("../engine/windows/windower.ts");
  const { FakeClock } = await import("../engine/fake_clock.ts");
  const config = parseConfig(
    `sources: [{ name: in, type: http, path: /in, topic: clicks, key: id }]
sinks: [{ name: out, type: sqlite, path: ./out.db }]
windows:
  - name: visits
    type: session
    gap: 1m
    key: user
    sql: SELECT count(*) AS n FROM clicks WHERE json_extract(payload, '$.user') = :session_key AND timestamp >= :window_start AND timestamp < :window_end
    sinks: [out]
`,
    `${dir}/litejoin.yaml`,
  );
  const data = `${dir}/data`;
  await Deno.mkdir(data, { recursive: true });
  const writer = await Writer.open({
    dataDir: data,
    shardCount: 4,
    topics: config.topicNames,
    flushIntervalMs: 10,
    batchSize: 10_000,
    maxBacklog: 1_000_000,
  });
  for (let e = 0; e < 2; e++) {
    for (let k = 0; k < KEYS; k += 10_000) {
      await writer.write(Array.from({ length: Math.min(10_000, KEYS - k) }, (_, i) => ({
        topic: "clicks",
        key: `c${e}-${k + i}`,
        payload: { user: `user-${k + i}` },
        timestamp: T + e * 1000,
      })));
    }
  }
  const readers = await Readers.open(
    { dataDir: data, shardCount: 4, topics: config.topicNames, busyTimeoutMs: 5000 },
    4,
  );
  const meta = new Meta(`${data}/meta.db`);
  const clock = new FakeClock(T + 2000);
  const windower = Windower.fromConfig(
    config,
    new Map([["out", { deliver: () => Promise.resolve() }]]),
    {
      readers,
      writer,
      meta,
      clock,
      timers: clock,
      log: silentLogger,
      metrics: new Metrics(),
    },
  );
  const started = performance.now();
  await windower.start();
  const ms = Math.round(performance.now() - started);
  const open = windower.health()[0].open;
  if (open !== KEYS) throw new Error(`rebuilt ${open} sessions, expected ${KEYS}`);
  await windower.stop();
  readers.close();
  await writer.close();
  meta.close();
  return ms;
}

const closing = () => closeMany(Number(values["close-rows"]), Number(values["close-keys"]));

if (values.part === "sessions") {
  console.log(JSON.stringify(await sessions()));
} else if (values.part === "close") {
  console.log(JSON.stringify({ bench: "windows", close_many: await closing() }));
} else {
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      new URL(import.meta.url).pathname,
      "--part",
      "sessions",
      "--keys",
      String(KEYS),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!child.success) throw new Error(`the session benchmark exited with ${child.code}`);
  const sessionFigures = JSON.parse(new TextDecoder().decode(child.stdout).trim());
  const delivery = await closeToDelivery();
  const many = await closing();
  console.log(JSON.stringify({
    bench: "windows",
    close_to_delivery: delivery,
    sessions: sessionFigures,
    close_many: many,
    targets: { close_to_delivery_p99_ms: 50, close_many_ms: 1000 },
  }));
}
