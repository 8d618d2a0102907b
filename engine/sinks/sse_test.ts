import assert from "node:assert/strict";
import { HttpServer } from "../http/server.ts";
import { createLogger, silentLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import type { Result } from "../types.ts";
import { SseSink, type SseSinkConfig } from "./sse.ts";
import { ResultView, SseClient } from "../../tests/_sse.ts";
import { waitFor } from "../../tests/_helpers.ts";

const CONFIG: SseSinkConfig = {
  path: "/live",
  replay_buffer: 100,
  client_buffer: 64 * 1024,
  heartbeat: 0,
  retry: 1000,
  max_clients: 100,
  retries: 0,
  backoff: { initial: 10, max: 10, multiplier: 2, jitter: 0 },
  max_batch: 500,
};

interface Harness {
  sink: SseSink;
  http: HttpServer;
  metrics: Metrics;
  url: string;
  logs: string[];
  dir: string;
  stop(): Promise<void>;
}

async function start(config: Partial<SseSinkConfig> = {}, dir?: string): Promise<Harness> {
  dir ??= await Deno.makeTempDir({ prefix: "litejoin-sse-" });
  const logs: string[] = [];
  const log = createLogger({ level: "info", write: (line) => logs.push(line) });
  const http = new HttpServer(silentLogger);
  const metrics = new Metrics();
  const sink = new SseSink("live", { ...CONFIG, ...config }, {
    http,
    clock: { now: () => Date.now() },
    log,
    metrics,
    dataDir: dir,
    resolvePath: (p) => p,
  });
  const address = await http.start({ hostname: "127.0.0.1", port: 0 });
  return {
    sink,
    http,
    metrics,
    logs,
    dir,
    url: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      await http.stop();
      await sink.close();
    },
  };
}

const result = (key: string, row: Record<string, unknown>, op = "upsert"): Result => ({
  name: "orders",
  key,
  row,
  timestamp: 1,
  _change: { op: op === "delete" ? "delete" : "update" },
});

const upserts = (from: number, to: number, tag = "") =>
  Array.from({ length: to - from }, (_, i) => result(`k${from + i}`, { n: from + i, tag }));

Deno.test("sse sink sends each result as one event: growing id, event = name, data = the result", async () => {
  const t = await start({ heartbeat: 20 });
  const client = await SseClient.open(`${t.url}/live`);
  try {
    const first = t.sink.head;
    await t.sink.send([result("a", { id: "a", n: 1 }), result("b", { id: "b", n: 2 })]);
    await t.sink.send([result("a", {}, "delete")]);
    await waitFor("three events", () => client.events.length === 3);
    assert.deepEqual(client.events.map((e) => [Number(e.id) - first, e.event]), [
      [1, "orders"],
      [2, "orders"],
      [3, "orders"],
    ]);
    assert.deepEqual(JSON.parse(client.events[0].data), {
      name: "orders",
      key: "a",
      row: { id: "a", n: 1 },
      timestamp: 1,
      _change: { op: "update" },
    });
    assert.equal(JSON.parse(client.events[2].data)._change.op, "delete");
    assert.equal(client.retry, 1000);
    await waitFor("heartbeat comments", () => client.comments >= 2);
    assert.equal(t.metrics.counter("litejoin_sse_events_total", "").get({ sink: "live" }), 3);
  } finally {
    await client.close();
    await t.stop();
  }
});

Deno.test("sse snapshot holds the current rows by key and the id to stream from", async () => {
  const t = await start();
  try {
    await t.sink.send([result("a", { n: 1 }), result("b", { n: 2 }), result("a", { n: 3 })]);
    await t.sink.send([result("b", {}, "delete"), result("c", { n: 4 })]);
    const snapshot = await (await fetch(`${t.url}/live/snapshot`)).json();
    assert.deepEqual(snapshot, {
      id: String(t.sink.head),
      results: { orders: { a: { n: 3 }, c: { n: 4 } } },
    });
  } finally {
    await t.stop();
  }
});

Deno.test("sse client resumes after its Last-Event-ID; the header wins over ?last_event_id", async () => {
  const t = await start();
  try {
    await t.sink.send(upserts(0, 10));
    const base = t.sink.head - 10;
    const byQuery = await SseClient.open(`${t.url}/live?last_event_id=${base + 4}`);
    const byHeader = await SseClient.open(`${t.url}/live?last_event_id=${base}`, {
      "last-event-id": String(base + 7),
    });
    await waitFor("replays", () => byQuery.events.length === 6 && byHeader.events.length === 3);
    await t.sink.send(upserts(10, 12));
    await waitFor("live events", () => byQuery.events.length === 8 && byHeader.events.length === 5);
    const ids = (c: SseClient) => c.events.map((e) => Number(e.id) - base);
    assert.deepEqual(ids(byQuery), [5, 6, 7, 8, 9, 10, 11, 12]);
    assert.deepEqual(ids(byHeader), [8, 9, 10, 11, 12]);
    await byQuery.close();
    await byHeader.close();
  } finally {
    await t.stop();
  }
});

Deno.test("sse client older than the replay buffer, or with a foreign id, is told to reset", async () => {
  const t = await start({ replay_buffer: 5 });
  try {
    await t.sink.send(upserts(0, 20));
    for (const id of [String(t.sink.head - 6), String(t.sink.head + 1), "abc"]) {
      const client = await SseClient.open(`${t.url}/live`, { "last-event-id": id });
      await client.done; // the server ends the stream after the reset
      assert.deepEqual(client.events.map((e) => e.event), ["reset"], id);
      const reset = JSON.parse(client.events[0].data);
      assert.equal(reset.snapshot, "/live/snapshot");
      assert.match(reset.reason, /older than the replay buffer|not from this stream|not an id/);
    }
    const edge = await SseClient.open(`${t.url}/live`, {
      "last-event-id": String(t.sink.head - 5),
    });
    await waitFor("the 5 kept events", () => edge.events.length === 5);
    await edge.close();
    assert.equal(t.metrics.counter("litejoin_sse_resets_total", "").get({ sink: "live" }), 3);
  } finally {
    await t.stop();
  }
});

Deno.test("sse sink makes no event for a result it already holds (a batch delivered twice)", async () => {
  const t = await start();
  const client = await SseClient.open(`${t.url}/live`);
  try {
    const batch = [result("a", { n: 1 }), result("b", { n: 2 }), result("x", {}, "delete")];
    await t.sink.send(batch);
    await t.sink.send(batch);
    await t.sink.send([result("a", { n: 9 })]);
    await waitFor("3 events", () => client.events.length === 3);
    assert.deepEqual(client.events.map((e) => JSON.parse(e.data).key), ["a", "b", "a"]);
  } finally {
    await client.close();
    await t.stop();
  }
});

Deno.test("sse state, replay buffer and ids survive a restart; an id from before resumes", async () => {
  const t = await start();
  await t.sink.send(upserts(0, 30));
  await t.sink.send([result("k3", {}, "delete")]);
  const seenBefore = t.sink.head - 5;
  const headBefore = t.sink.head;
  await t.stop();

  const again = await start({}, t.dir);
  try {
    assert.equal(again.sink.head, headBefore);
    await again.sink.send([result("k40", { n: 40 })]);
    assert.equal(again.sink.head, headBefore + 1);
    const client = await SseClient.open(`${again.url}/live`, {
      "last-event-id": String(seenBefore),
    });
    await waitFor("6 events", () => client.events.length === 6);
    assert.deepEqual(client.events.map((e) => JSON.parse(e.data).key), [
      "k26",
      "k27",
      "k28",
      "k29",
      "k3",
      "k40",
    ]);
    await client.close();
    const view = await new ResultView(again.url, "/live").hydrate();
    assert.equal(view.state.get("orders")!.size, 30);
    assert.equal(view.state.get("orders")!.has("k3"), false);
    assert.deepEqual(view.state.get("orders")!.get("k40"), { n: 40 });
    await view.close();
  } finally {
    await again.stop();
  }
});

Deno.test("sse sink seeds a result set it has not carried, and removes one it no longer gets", async () => {
  const t = await start();
  try {
    await t.sink.send([{ name: "old", key: "z", row: { z: 1 }, timestamp: 1 }]);
    const client = await SseClient.open(`${t.url}/live`);
    await t.sink.carry([
      { name: "orders", current: () => Promise.resolve(upserts(0, 3)) },
      { name: "revenue_5m" },
    ]);
    await waitFor("delete of old/z and 3 seeded rows", () => client.events.length === 4);
    assert.deepEqual(
      client.events.map((e) => `${e.event}:${JSON.parse(e.data).key}`),
      ["old:z", "orders:k0", "orders:k1", "orders:k2"],
    );
    const snapshot = await (await fetch(`${t.url}/live/snapshot`)).json();
    assert.deepEqual(Object.keys(snapshot.results).sort(), ["orders", "revenue_5m"]);
    // Carried now: declaring it again does not seed it twice.
    await t.sink.carry([{ name: "orders", current: () => Promise.resolve(upserts(0, 5, "x")) }]);
    assert.equal(client.events.length, 4);
    // A join that cannot be read yet is not fatal; it is seeded at the next start.
    const failing = { name: "late", current: () => Promise.reject(new Error("no such table")) };
    await t.sink.carry([{ name: "orders" }, failing]);
    assert.ok(
      t.logs.some((l) => l.includes("cannot seed late from its current result: no such table")),
    );
    await t.sink.carry([{ name: "orders" }, {
      name: "late",
      current: () => Promise.resolve([{ name: "late", key: "q", row: { q: 1 }, timestamp: 1 }]),
    }]);
    await waitFor("the late set seeded", () => client.events.length === 5);
    await client.close();
  } finally {
    await t.stop();
  }
});

Deno.test("stopping the HTTP server ends open streams first, so it does not hang", async () => {
  const t = await start();
  const clients = await Promise.all([1, 2, 3].map(() => SseClient.open(`${t.url}/live`)));
  await t.sink.send(upserts(0, 2));
  await waitFor("events", () => clients.every((c) => c.events.length === 2));
  await t.http.stop(60_000);
  await Promise.all(clients.map((c) => c.done));
  assert.equal(t.sink.clients, 0);
  const closed = t.metrics.counter("litejoin_sse_disconnects_total", "");
  assert.equal(closed.get({ sink: "live", reason: "shutdown" }), 3);
  await t.sink.close();
});

Deno.test("sse sink refuses clients beyond max_clients with 503", async () => {
  const t = await start({ max_clients: 1 });
  try {
    const one = await SseClient.open(`${t.url}/live`);
    const response = await fetch(`${t.url}/live`);
    assert.equal(response.status, 503);
    assert.match((await response.json()).error, /max_clients is 1/);
    await one.close();
  } finally {
    await t.stop();
  }
});
