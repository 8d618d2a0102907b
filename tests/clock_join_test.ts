/** A clock-bounded join in a running engine: expiry on the engine's timers, retention's evictions. */
import assert from "node:assert/strict";
import { FakeClock } from "../engine/fake_clock.ts";
import { type Receiver, startEngine, startReceiver, waitFor } from "./_helpers.ts";

const T0 = Date.UTC(2026, 0, 1);

const pipeline = (hook: string) => `
engine: { data_dir: ./data, shard_count: 2, retention: 0 }
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
  - { name: customers_in, type: http, path: /customers, topic: customers, key: id }
topics:
  - { name: customers, retention: 1h }
joins:
  - name: last_minute
    key: order_id
    sql: |
      SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS customer
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
      WHERE o.timestamp > (strftime('%s', 'now') - 60) * 1000
    sinks: [hook]
  - name: retracted
    key: order_id
    sql: |
      SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS customer
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
    sinks: [hook]
  - name: kept
    key: order_id
    on_eviction: keep
    sql: |
      SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS customer
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
    sinks: [hook]
sinks:
  - { name: hook, type: http, url: "${hook}", retries: 3, backoff: { initial: 10ms, max: 50ms } }
`;

const ops = (r: Receiver, join: string) =>
  r.results().filter((x) => x.name === join).map((x) => `${x.key}:${x._change?.op}`);

Deno.test("a clock-bounded join expires its results on the engine's timer; retention evicts, keep keeps", async () => {
  const receiver = await startReceiver();
  const clock = new FakeClock(T0);
  const t = await startEngine(pipeline(receiver.url), { clock, timers: clock });
  try {
    assert.deepEqual(t.engine.joiner.health().map((h) => h.mode), ["delta", "delta", "delta"]);
    await t.post("/customers", { id: "c1", name: "Ada" });
    clock.advance(30_000);
    await t.post("/orders", { id: "o1", customer_id: "c1" }); // at T0 + 30 s
    await waitFor("o1", () => ops(receiver, "last_minute").includes("o1:insert"));
    // The bound passes o1 at T0 + 90 s: the engine's timer evaluates the join, no data needed.
    clock.advance(59_000);
    await t.engine.joiner.drain();
    assert.deepEqual(ops(receiver, "last_minute"), ["o1:insert"]);
    clock.advance(1_000);
    await waitFor("o1 expired", () => ops(receiver, "last_minute").includes("o1:delete"));

    // Retention evicts c1 an hour on: o1 is retracted, except where the join keeps it.
    await waitFor("kept o1", () => ops(receiver, "kept").includes("o1:insert"));
    clock.advance(3_600_000);
    assert.equal(await t.engine.retention.run(), 1);
    await t.engine.joiner.drain();
    await waitFor("o1 retracted", () => ops(receiver, "retracted").includes("o1:delete"));
    assert.deepEqual(ops(receiver, "retracted"), ["o1:insert", "o1:delete"]);
    assert.deepEqual(ops(receiver, "kept"), ["o1:insert"]);
  } finally {
    await t.stop();
    await receiver.stop();
  }
});
