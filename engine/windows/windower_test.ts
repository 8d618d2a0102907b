import assert from "node:assert/strict";
import { parseConfig } from "../config/load.ts";
import { silentLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import { Meta } from "../store/meta.ts";
import { Readers } from "../store/readers.ts";
import { Writer } from "../store/writer.ts";
import type { Result } from "../types.ts";
import { FakeClock } from "../fake_clock.ts";
import { type ResultSink, Windower } from "./windower.ts";

const T0 = Date.UTC(2030, 0, 1);

/** Waits for work the test started on real I/O (shards, readers) to show its effect. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i === 500) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A sink that records every delivery; `hang` makes deliveries never finish. */
class Collect implements ResultSink {
  batches: Result[][] = [];
  hang = false;
  deliver(results: readonly Result[]): Promise<void> {
    this.batches.push([...results]);
    return this.hang ? new Promise(() => {}) : Promise.resolve();
  }
  get results(): Result[] {
    return this.batches.flat();
  }
  rows(): Record<string, unknown>[] {
    return this.results.map((r) => r.row);
  }
}

const sources = `
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
sinks:
  - { name: out, type: sqlite, path: ./out.db }
  - { name: late, type: sqlite, path: ./late.db }
`;

/** A windower over real shards, readers and meta.db, driven by a fake clock. */
async function harness(windows: string, opts: { dir?: string; at?: number } = {}) {
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "litejoin-windows-" });
  const config = parseConfig(sources + windows, `${dir}/litejoin.yaml`);
  const writer = await Writer.open({
    dataDir: dir,
    shardCount: 2,
    topics: config.topicNames,
    flushIntervalMs: 1,
    batchSize: 1000,
    maxBacklog: 100_000,
  });
  const readers = await Readers.open(
    { dataDir: dir, shardCount: 2, topics: config.topicNames, busyTimeoutMs: 1000 },
    2,
  );
  const meta = new Meta(`${dir}/meta.db`);
  const clock = new FakeClock(T0 + (opts.at ?? 0));
  const out = new Collect();
  const late = new Collect();
  const metrics = new Metrics();
  let failQueries = 0;
  const flaky = {
    query: (...args: Parameters<Readers["query"]>) =>
      failQueries-- > 0 ? Promise.reject(new Error("disk I/O error")) : readers.query(...args),
  };
  const windower = Windower.fromConfig(config, new Map([["out", out], ["late", late]]), {
    readers: flaky,
    writer,
    meta,
    clock,
    timers: clock,
    log: silentLogger,
    metrics,
  });
  const unlisten = writer.onCommit((batch) => windower.onCommit(batch));
  await windower.start();
  await windower.idle();
  let seq = 0;
  const h = {
    dir,
    clock,
    out,
    late,
    metrics,
    windower,
    failNext(n: number) {
      failQueries = n;
    },
    /** Writes events `[offset from T0, payload]`; the offset is the message timestamp. */
    async write(events: [number, Record<string, unknown>?][]) {
      await writer.write(events.map(([at, payload]) => ({
        topic: "events",
        key: String(payload?.id ?? `e${seq++}`),
        payload: { ...payload },
        timestamp: T0 + at,
      })));
      await windower.idle();
    },
    /** Moves the fake clock to T0 + `offset` and waits for what that closes. */
    async at(offset: number) {
      clock.set(T0 + offset);
      await windower.idle();
      while (clock.due) {
        clock.advance(0);
        await windower.idle();
      }
    },
    late_total: () => metrics.counter("litejoin_window_late_total", "").get({ window: "w" }),
    /** Stops as a crash would: no stop, the windower is simply abandoned. */
    async crash() {
      unlisten();
      await close();
    },
    async stop() {
      await windower.stop();
      unlisten();
      await close();
    },
  };
  const close = async () => {
    readers.close();
    await writer.close();
    meta.close();
  };
  return h;
}

const COUNT = `SELECT count(*) AS n FROM events
  WHERE timestamp >= :window_start AND timestamp < :window_end`;

const tumbling = (extra = "") => `
windows:
  - name: w
    type: tumbling
    size: 1s
    grace: 200ms
    sql: "${COUNT.replace(/\n/g, " ")}"
    sinks: [out]
    ${extra}
`;

Deno.test("windower closes an idle tumbling window when the clock passes end + grace", async () => {
  const h = await harness(tumbling());
  try {
    await h.write([[100], [200], [999], [1000]]);
    await h.at(1199);
    assert.equal(h.out.results.length, 0, "not before end + grace");
    await h.at(1200);
    assert.deepEqual(h.out.rows(), [{ window_start: T0, window_end: T0 + 1000, n: 3 }]);
    assert.equal(h.out.results[0].key, JSON.stringify([T0, T0 + 1000]));
    await h.at(2200);
    assert.deepEqual(h.out.rows()[1], { window_start: T0 + 1000, window_end: T0 + 2000, n: 1 });
    await h.at(10_000);
    assert.equal(h.out.results.length, 2, "windows without events emit nothing");
  } finally {
    await h.stop();
  }
});

Deno.test("windower takes events within grace and sends later ones to the late sink", async () => {
  const h = await harness(tumbling("late: sink late"));
  try {
    await h.write([[500]]);
    await h.at(1100);
    await h.write([[900, { id: "in-grace" }]]); // stamped inside the window, during grace
    await h.at(1200);
    assert.deepEqual(h.out.rows(), [{ window_start: T0, window_end: T0 + 1000, n: 2 }]);
    await h.write([[999, { id: "too-late", v: 1 }]]);
    assert.equal(h.late_total(), 1);
    assert.deepEqual(h.late.results.map((r) => [r.name, r.key, r.row.event_time]), [[
      "w_late",
      "too-late",
      T0 + 999,
    ]]);
    assert.deepEqual(h.late.results[0].row.payload, { id: "too-late", v: 1 });
    assert.equal(h.out.results.length, 1, "a late event reopens nothing");
  } finally {
    await h.stop();
  }
});

Deno.test("windower restart repeats no recorded window and closes those due while it was down", async () => {
  const h = await harness(tumbling());
  await h.write([[100], [1100], [1200]]);
  await h.at(1200);
  assert.equal(h.out.results.length, 1);
  await h.stop();
  // Down from 1.2s to 5s: window [1s, 2s) closed meanwhile.
  const again = await harness(tumbling(), { dir: h.dir, at: 5000 });
  try {
    assert.deepEqual(again.out.rows(), [{ window_start: T0 + 1000, window_end: T0 + 2000, n: 2 }]);
  } finally {
    await again.stop();
  }
  const third = await harness(tumbling(), { dir: h.dir, at: 9000 });
  try {
    assert.equal(third.out.results.length, 0);
  } finally {
    await third.stop();
  }
});

Deno.test("windower delivers again a window whose delivery was not recorded before a crash", async () => {
  const h = await harness(tumbling());
  await h.write([[100], [200]]);
  h.out.hang = true; // the sink takes the results, and the process dies before the record
  h.clock.set(T0 + 1200);
  await until(() => h.out.results.length === 1);
  await h.crash();
  const again = await harness(tumbling(), { dir: h.dir });
  try {
    await again.at(1200);
    assert.deepEqual(again.out.rows(), [{ window_start: T0, window_end: T0 + 1000, n: 2 }]);
    assert.equal(again.out.results[0].key, h.out.results[0].key, "same key: the sink upserts");
  } finally {
    await again.stop();
  }
  const third = await harness(tumbling(), { dir: h.dir });
  try {
    await third.at(5000);
    assert.equal(third.out.results.length, 0, "recorded now: not delivered a third time");
  } finally {
    await third.stop();
  }
});

Deno.test("windower retries a failing evaluation and never skips the window", async () => {
  const h = await harness(tumbling());
  try {
    await h.write([[100]]);
    h.failNext(2);
    const errors = () => h.metrics.counter("litejoin_window_errors_total", "").get({ window: "w" });
    h.clock.set(T0 + 1200);
    await until(() => errors() === 1);
    assert.equal(h.out.results.length, 0);
    h.clock.advance(30_000); // past the first retry's backoff
    await until(() => errors() === 2 && h.clock.pending > 0);
    assert.equal(h.out.results.length, 0);
    h.clock.advance(30_000);
    await until(() => h.out.results.length === 1);
    await h.windower.idle();
    assert.deepEqual(h.out.rows(), [{ window_start: T0, window_end: T0 + 1000, n: 1 }]);
    assert.equal(h.metrics.counter("litejoin_window_errors_total", "").get({ window: "w" }), 2);
  } finally {
    await h.stop();
  }
});

Deno.test("windower emits sliding windows, one result per window", async () => {
  const h = await harness(`
windows:
  - name: w
    type: sliding
    size: 3s
    slide: 1s
    sql: "${COUNT.replace(/\n/g, " ")}"
    sinks: [out]
`);
  try {
    await h.write([[500], [1500], [2500], [2600]]);
    await h.at(6000);
    assert.deepEqual(h.out.rows().map((r) => [r.window_start as number - T0, r.n]), [
      [-2000, 1],
      [-1000, 2],
      [0, 4],
      [1000, 3],
      [2000, 2],
    ]);
  } finally {
    await h.stop();
  }
});

Deno.test("windower emit: update delivers changes while open, then the final result", async () => {
  const h = await harness(tumbling("emit: update"));
  try {
    await h.write([[100]]);
    await h.write([[200]]);
    await h.write([[300, { id: "e1" }]]); // rewrites e1: the count stays 2
    await h.at(1200);
    assert.deepEqual(
      h.out.results.map((r) => [r._change?.op, r.row.n, r.row.window_final]),
      [["insert", 1, false], ["update", 2, false], ["update", 2, true]],
    );
    assert.equal(new Set(h.out.results.map((r) => r.key)).size, 1);
  } finally {
    await h.stop();
  }
});

const SESSIONS = (extra = "") => `
windows:
  - name: w
    type: session
    gap: 1s
    key: user
    time: at
    sql: >-
      SELECT count(*) AS n, group_concat(key, ',' ORDER BY key) AS ids FROM events
      WHERE json_extract(payload, '$.user') = :session_key
        AND unixepoch(json_extract(payload, '$.at'), 'subsec') * 1000 >= :window_start
        AND unixepoch(json_extract(payload, '$.at'), 'subsec') * 1000 < :window_end
    sinks: [out]
    ${extra}
`;

const iso = (offset: number) => new Date(T0 + offset).toISOString();
const event = (id: string, user: string, at: number) =>
  [0, { id, user, at: iso(at) }] as [
    number,
    Record<string, unknown>,
  ];

Deno.test("windower session windows on payload time merge, and close by the wall clock", async () => {
  const h = await harness(SESSIONS("grace: 1s"));
  try {
    await h.write([event("a1", "ann", 0), event("b1", "bob", 500)]);
    await h.write([event("a2", "ann", 1800)]);
    await h.write([event("a3", "ann", 900)]); // bridges ann's two sessions
    // The watermark is the latest event time (1.8s), then moves with the wall clock.
    await h.at(699);
    assert.equal(h.out.results.length, 0);
    await h.at(700); // 1.8s + 0.7s = bob's end (1.5s) + grace
    assert.deepEqual(h.out.rows().map((r) => [r.session_key, r.n, r.ids]), [["bob", 1, "b1"]]);
    await h.at(1999);
    assert.equal(h.out.results.length, 1);
    await h.at(2000);
    assert.deepEqual(h.out.rows().at(-1), {
      window_start: T0,
      window_end: T0 + 2800,
      session_key: "ann",
      n: 3,
      ids: "a1,a2,a3",
    });
    assert.equal(h.out.results.at(-1)!.key, JSON.stringify([T0, T0 + 2800, "ann"]));
  } finally {
    await h.stop();
  }
});

Deno.test("windower session event far ahead moves the watermark and closes sessions at once", async () => {
  const h = await harness(SESSIONS("max_duration: 5s"));
  try {
    await h.write([event("a0", "ann", 0)]);
    for (let t = 4000; t <= 9600; t += 800) await h.write([event(`a${t}`, "ann", t)]);
    assert.deepEqual(h.out.rows().map((r) => [r.n, r.window_end]), [[1, T0 + 1000], [
      7,
      T0 + 9000,
    ]]);
    await h.write([event("z", "zed", 60_000)]);
    assert.deepEqual(h.out.rows().map((r) => [r.session_key, r.n, r.window_start, r.window_end]), [
      ["ann", 1, T0, T0 + 1000],
      ["ann", 7, T0 + 4000, T0 + 9000], // capped at 5s: 9.6s starts the next session
      ["ann", 1, T0 + 9600, T0 + 10_600],
    ]);
  } finally {
    await h.stop();
  }
});

Deno.test("windower session open across a restart keeps its early events", async () => {
  const h = await harness(SESSIONS());
  for (let t = 0; t <= 3000; t += 600) await h.write([event(`a${t}`, "ann", t)]);
  await h.write([event("b", "bob", 2000)]); // closes at once: the watermark is at 3s
  await h.at(900);
  assert.deepEqual(h.out.rows().map((r) => r.session_key), ["bob"]);
  await h.stop();
  // ann's session started far behind the recorded frontier (3s): only its saved start
  // tells the restart that its early events are not late.
  const again = await harness(SESSIONS(), { dir: h.dir, at: 900 });
  try {
    await again.write([event("a-more", "ann", 3500)]);
    assert.equal(again.out.results.length, 0);
    await again.at(1900);
    assert.deepEqual(again.out.rows().map((r) => [r.session_key, r.n, r.window_start]), [
      ["ann", 7, T0],
    ]);
    assert.equal(again.late_total(), 0);
  } finally {
    await again.stop();
  }
});

Deno.test("windower session emit: update replaces a merged session's result with the merged one", async () => {
  const h = await harness(SESSIONS("emit: update\n    grace: 1s"));
  try {
    await h.write([event("a1", "ann", 0)]);
    await h.write([event("a2", "ann", 1800)]);
    await h.write([event("a3", "ann", 900)]);
    const state = new Map<string, unknown>();
    for (const r of h.out.results) {
      if (r._change?.op === "delete") state.delete(r.key);
      else state.set(r.key, r.row.n);
    }
    assert.deepEqual([...state], [[JSON.stringify([T0, T0 + 2800, "ann"]), 3]]);
  } finally {
    await h.stop();
  }
});

Deno.test("windower takes a request's events in any shard order before the watermark it moved closes windows", async () => {
  const h = await harness(SESSIONS());
  try {
    // One write spread over both shards, its latest event first: no event of it is late.
    const times = [2900, 0, 100, 1200, 500, 2000, 700, 1500, 300, 2500];
    await h.write(times.map((t, i) => event(`x${i}`, "ann", t)));
    await h.at(1000);
    assert.equal(h.late_total(), 0);
    assert.deepEqual(h.out.rows().map((r) => [r.n, r.window_start, r.window_end]), [
      [10, T0, T0 + 3900],
    ]);
  } finally {
    await h.stop();
  }
});
