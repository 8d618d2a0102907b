/** Evictions (retention's deletes) retract delta results, as full mode does, unless a join keeps them. */
import assert from "node:assert/strict";
import { createLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import { Retention } from "../store/retention.ts";
import { Harness } from "./_joiner_harness.ts";

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const TOPICS = ["customers", "orders"];
const INNER = `SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS customer
               FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')`;
const LEFT = `SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS customer
              FROM orders o LEFT JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')`;

const retention = (h: Harness, topic: string) =>
  new Retention(
    h.writer,
    [{ topic, retention: HOUR }],
    h.clock,
    createLogger({ level: "error", write: () => {} }),
    new Metrics(),
  );

Deno.test("a retention delete retracts the results of a delta join, as full mode does; on_eviction: keep keeps them", async () => {
  const h = await Harness.open(TOPICS, [
    { name: "inner", key: "order_id", sql: INNER },
    { name: "left", key: "order_id", sql: LEFT },
    { name: "full", key: "order_id", sql: INNER, mode: "full" },
    { name: "kept", key: "order_id", sql: INNER, onEviction: "keep" },
  ], T0);
  try {
    assert.deepEqual(h.tasks.map((t) => t.evaluator.mode), ["delta", "delta", "delta"]);
    await h.writer.write([
      { topic: "customers", key: "c1", payload: { name: "Ada" }, timestamp: T0 - 2 * HOUR },
      { topic: "customers", key: "c2", payload: { name: "Ken" }, timestamp: T0 },
      { topic: "orders", key: "o1", payload: { customer_id: "c2" }, timestamp: T0 - 2 * HOUR },
      { topic: "orders", key: "o2", payload: { customer_id: "c1" }, timestamp: T0 },
      { topic: "orders", key: "o3", payload: { customer_id: "c2" }, timestamp: T0 },
    ]);
    await h.joiner.drain();
    await h.evaluateFull();
    for (const join of ["inner", "left", "full", "kept"]) {
      assert.deepEqual(h.ops(join).sort(), ["o1:insert", "o2:insert", "o3:insert"], join);
    }

    // o1 and c1 are older than the hour: retention evicts them.
    assert.equal(await retention(h, "orders").run(), 1);
    assert.equal(await retention(h, "customers").run(), 1);
    await h.joiner.drain();
    await h.evaluateFull();
    assert.deepEqual(h.ops("inner", 3).sort(), ["o1:delete", "o2:delete"]);
    assert.deepEqual(h.ops("full", 3).sort(), ["o1:delete", "o2:delete"]);
    // The LEFT JOIN keeps o2, without its customer.
    assert.deepEqual(h.ops("left", 3).sort(), ["o1:delete", "o2:update"]);
    assert.equal(h.state("left").get("o2")?.customer, null);
    assert.deepEqual(h.ops("kept", 3), []);

    // Later changes and a full re-evaluation leave the kept results alone: the join forgot them.
    await h.writer.write([
      { topic: "customers", key: "c2", payload: { name: "Ken T." }, timestamp: T0 },
    ]);
    await h.joiner.drain();
    h.tasks[2].evaluator.resync?.();
    await h.writer.write([
      { topic: "orders", key: "o4", payload: { customer_id: "c2" }, timestamp: T0 },
    ]);
    await h.joiner.drain();
    assert.deepEqual(h.ops("kept", 3).sort(), ["o3:update", "o4:insert"]);
    assert.deepEqual([...h.state("kept").keys()].sort(), ["o1", "o2", "o3", "o4"]);
    assert.deepEqual([...h.state("inner").keys()].sort(), ["o3", "o4"]);
  } finally {
    await h.close();
  }
});

Deno.test("an eviction while the joiner is down is retracted at the next start", async () => {
  const h = await Harness.open(TOPICS, [{ name: "inner", key: "order_id", sql: INNER }], T0);
  try {
    await h.writer.write([
      { topic: "customers", key: "c1", payload: { name: "Ada" }, timestamp: T0 },
      { topic: "orders", key: "o1", payload: { customer_id: "c1" }, timestamp: T0 - 2 * HOUR },
      { topic: "orders", key: "o2", payload: { customer_id: "c1" }, timestamp: T0 },
    ]);
    await h.joiner.drain();
    // As after a crash: the eviction commits, and the joiner never hears of it.
    await h.joiner.stop();
    assert.equal(await retention(h, "orders").run(), 1);
    h.meta.close();
    await h.start();
    await h.joiner.drain();
    assert.deepEqual(h.ops("inner", 2), ["o1:delete"]);
  } finally {
    await h.close();
  }
});
