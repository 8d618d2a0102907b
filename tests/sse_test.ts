import assert from "node:assert/strict";
import { startEngine, waitFor } from "./_helpers.ts";
import { createLogger } from "../engine/log.ts";
import { spawnEngine } from "./_process.ts";
import { ResultView, SseClient } from "./_sse.ts";
import type { SseSink } from "../engine/sinks/sse.ts";
import { queryFile } from "./_helpers.ts";

/** A small deterministic PRNG (mulberry32), so a failing round can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JOIN_SQL = `SELECT o.key AS order_id, json_extract(o.payload, '$.amount') AS amount,
         json_extract(c.payload, '$.name') AS customer
  FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
  WHERE json_extract(o.payload, '$.status') != 'cancelled'`;

const PIPELINE = `
engine: { data_dir: ./data, shard_count: 3 }
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
  - { name: customers_in, type: http, path: /customers, topic: customers, key: id }
joins:
  - name: enriched
    key: order_id
    sql: "${JOIN_SQL.replaceAll("\n", " ")}"
    sinks: [live]
sinks:
  - { name: live, type: sse, path: /stream/enriched, replay_buffer: 100000 }
`;

const plain = (value: unknown) => JSON.parse(JSON.stringify(value));

Deno.test("snapshot then stream converges on the join's result in SQLite, round after round, while writes continue", async () => {
  const t = await startEngine(PIPELINE);
  const sink = t.engine.sinks.get("live")!.sink as SseSink;
  const next = random(7);
  const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)];
  let paused = false;
  let stopped = false;
  let posts = 0;
  let inFlight = 0;
  const writer = async () => {
    while (!stopped) {
      if (paused) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const orders = next() < 0.7;
      const batch = Array.from({ length: 1 + Math.floor(next() * 4) }, () =>
        orders
          ? {
            id: `o${Math.floor(next() * 150)}`,
            customer_id: `c${Math.floor(next() * 24)}`, // c20..c23 never exist
            amount: Math.floor(next() * 1000),
            status: pick(["paid", "open", "cancelled"]),
          }
          : { id: `c${Math.floor(next() * 20)}`, name: pick(["Ada", "Grace", "Linus"]) });
      inFlight++;
      const response = await t.post(orders ? "/orders" : "/customers", batch);
      inFlight--;
      assert.equal(response.status, 202, await response.text());
      posts++;
    }
  };
  const writers = [writer(), writer()];
  const views: ResultView[] = [];
  try {
    for (let round = 0; round < 20; round++) {
      // A page arrives while writes are in flight.
      const started = posts;
      await waitFor("writes before hydration", () => posts >= started + 1 + Math.floor(next() * 5));
      views.push(await new ResultView(t.url, "/stream/enriched").hydrate());
      const hydrated = posts;
      await waitFor("writes after hydration", () => posts >= hydrated + 10);

      paused = true;
      await waitFor("writes in flight to finish", () => inFlight === 0);
      await t.engine.writer.flush();
      await t.engine.joiner.drain();
      const head = String(sink.head);
      await waitFor("every view at the last event", () => views.every((v) => v.id === head));
      const expected = new Map(
        (await t.engine.readers.all(JOIN_SQL)).map((row) => [String(row.order_id), plain(row)]),
      );
      const sorted = [...expected].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
      for (const [i, view] of views.entries()) {
        assert.deepEqual(view.anomalies, [], `round ${round}, view ${i}`);
        assert.deepEqual(view.rows("enriched"), sorted, `round ${round}, view ${i}`);
        assert.equal(view.resets, 0);
      }
      paused = false;
    }
    assert.ok(views.some((v) => v.applied > 0) && views.at(-1)!.state.get("enriched")!.size > 10);
  } finally {
    stopped = true;
    await Promise.all(writers);
    await Promise.all(views.map((v) => v.close()));
    await t.stop();
  }
});

const COPY = `
http: { listen: "127.0.0.1:0" }
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - { name: copy, key: id, sql: "SELECT key AS id, json_extract(payload, '$.n') AS n FROM events", sinks: [live] }
sinks:
  - { name: live, type: sse, path: /live, replay_buffer: 1000000 }
`;

/** Every stored row of `events`, as the copy join sees it. */
function storedRows(dir: string): Map<string, { id: string; n: number }> {
  const rows = new Map<string, { id: string; n: number }>();
  for (const shard of [0, 1]) {
    for (
      const row of queryFile(`${dir}/data/shard_${shard}.db`, "SELECT key, payload FROM events")
    ) {
      rows.set(String(row.key), { id: String(row.key), n: JSON.parse(String(row.payload)).n });
    }
  }
  return rows;
}

Deno.test("after SIGKILL and restart, a client resumes by Last-Event-ID and ends equal to SQLite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-sse-crash-" });
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, COPY);
  let engine = await spawnEngine(dir);
  // An EventSource-like client: state from the snapshot, then the stream; on a broken
  // stream it reconnects with Last-Event-ID, wherever the engine now listens.
  const state = new Map<string, unknown>();
  const snapshot = await (await fetch(`${engine.url}/live/snapshot`)).json();
  let lastId: string = snapshot.id;
  let resets = 0;
  let gaps = 0;
  const follow = async (client: SseClient) => {
    client.onEvent = (event) => {
      if (event.event === "reset") return void resets++;
      if (BigInt(event.id) !== BigInt(lastId) + 1n) gaps++;
      const result = JSON.parse(event.data);
      if (result._change.op === "delete") state.delete(result.key);
      else state.set(result.key, result.row);
      lastId = event.id;
    };
    await client.done.catch(() => {});
  };
  let following = follow(await SseClient.open(`${engine.url}/live?last_event_id=${lastId}`));

  let running = true;
  let acked = 0;
  const ingest = async (url: string, worker: number) => {
    for (let i = 0; running; i++) {
      const batch = Array.from(
        { length: 5 },
        (_, j) => ({ id: `k${(i * 5 + j + worker) % 300}`, n: i }),
      );
      try {
        const response = await fetch(`${url}/in`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(batch),
        });
        await response.body?.cancel();
        if (response.status === 202) acked++;
      } catch {
        return; // the engine is gone
      }
    }
  };
  let writers = [0, 1, 2].map((w) => ingest(engine.url, w));
  await waitFor("ingest under way", () => acked >= 300, 30_000);
  engine.child.kill("SIGKILL");
  await engine.exited;
  running = false;
  await Promise.all(writers);
  await following;

  engine = await spawnEngine(dir);
  try {
    following = follow(
      await SseClient.open(`${engine.url}/live`, { "last-event-id": lastId }),
    );
    running = true;
    writers = [0, 1].map((w) => ingest(engine.url, w + 7));
    await waitFor("more ingest", () => acked >= 500, 30_000);
    running = false;
    await Promise.all(writers);
    const expected = storedRows(dir);
    const same = () => JSON.stringify([...state].sort()) === JSON.stringify([...expected].sort());
    // The last writes may still be on their way through the join: wait for them.
    await waitFor("the client to hold every stored row", same, 30_000).catch(() => {});
    assert.equal(resets, 0, "the client resumed; it was not told to re-hydrate");
    assert.equal(gaps, 0);
    assert.deepEqual(
      Object.fromEntries([...state].sort()),
      Object.fromEntries([...expected].sort()),
    );
  } finally {
    engine.child.kill("SIGTERM");
    await engine.exited;
    await following;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a client that stops reading is cut off; the others and ingest go on; stop does not hang", async () => {
  const logs: string[] = [];
  const t = await startEngine(
    `
engine: { data_dir: ./data, shard_count: 1 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - { name: copy, key: id, sql: "SELECT key AS id, json_extract(payload, '$.pad') AS pad FROM events", sinks: [live] }
sinks:
  - { name: live, type: sse, path: /live, replay_buffer: 20, client_buffer: 16KiB }
`,
    { log: createLogger({ level: "warn", write: (line) => logs.push(line) }) },
  );
  const sink = t.engine.sinks.get("live")!.sink as SseSink;
  const stuck = await Deno.connect({ hostname: "127.0.0.1", port: t.engine.address.port });
  await stuck.write(new TextEncoder().encode("GET /live HTTP/1.1\r\nhost: x\r\n\r\n"));
  const reader = await SseClient.open(`${t.url}/live`);
  const lagging = () =>
    t.engine.metrics.counter("litejoin_sse_disconnects_total", "").get({
      sink: "live",
      reason: "lagging",
    });
  try {
    await waitFor("two clients", () => sink.clients === 2);
    const first = sink.head;
    const pad = "x".repeat(32 * 1024);
    let n = 0;
    while (lagging() === 0) {
      const response = await t.post("/in", { id: `k${n++}`, pad: `${n}${pad}` });
      assert.equal(response.status, 202);
      assert.ok(n < 5000, "the stuck client was never cut off");
      // The reading client keeps up (on a busy machine it could otherwise fall out of
      // the replay buffer too); only the stuck one falls behind.
      await t.engine.joiner.drain();
      await waitFor("the reading client to keep up", () => reader.lastId === String(sink.head));
    }
    await t.engine.joiner.drain();
    await waitFor(
      "the reading client to get every event",
      () => reader.lastId === String(sink.head),
    );
    assert.equal(reader.events.length, sink.head - first);
    assert.equal(sink.clients, 1);
    assert.ok(
      logs.some((l) => /1 slow client\(s\) disconnected: fell more than 20 events/.test(l)),
    );
  } finally {
    await reader.close();
    await t.stop(); // ends the streams; the stuck connection cannot hold it up for long
    stuck.close();
    await t.engine.http.closed;
  }
});
