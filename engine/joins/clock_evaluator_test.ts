/** Clock-bounded joins by delta, with a fake clock: expiry on time, without data, across restarts. */
import assert from "node:assert/strict";
import { Harness } from "./_joiner_harness.ts";
import { analyzeDelta } from "./delta_plan.ts";

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const TOPICS = ["customers", "orders"];
const RECENT = {
  name: "recent",
  key: "order_id",
  sql: `SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS customer
        FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
        WHERE o.timestamp > (strftime('%s', 'now') - 3600) * 1000`,
};

Deno.test("a join bounded by the clock runs by delta", () => {
  const analysis = analyzeDelta(RECENT.sql, TOPICS);
  assert.ok(analysis.exact, !analysis.exact ? analysis.reason : "");
  assert.deepEqual(analysis.plan.clock?.map((b) => b.topic), ["orders"]);
});

Deno.test("a clock-bounded join expires results on time with no new data, and after a restart what crossed meanwhile", async () => {
  const h = await Harness.open(TOPICS, [RECENT], T0);
  try {
    await h.writer.write([
      { topic: "customers", key: "c1", payload: { name: "Ada" }, timestamp: T0 - 300 * MIN },
      { topic: "orders", key: "o1", payload: { customer_id: "c1" }, timestamp: T0 - 30 * MIN },
      { topic: "orders", key: "o2", payload: { customer_id: "c1" }, timestamp: T0 - 10 * MIN },
      { topic: "orders", key: "o3", payload: { customer_id: "c1" }, timestamp: T0 },
      // Already older than the bound: never a result.
      { topic: "orders", key: "o0", payload: { customer_id: "c1" }, timestamp: T0 - 61 * MIN },
    ]);
    await h.joiner.drain();
    assert.deepEqual(h.ops("recent").sort(), ["o1:insert", "o2:insert", "o3:insert"]);

    // o1 (T0 - 30 min) leaves when the bound passes it: at T0 + 30 min, not a millisecond before.
    await h.advanceTo(T0 + 30 * MIN - 1);
    assert.deepEqual(h.ops("recent", 3), []);
    await h.advanceTo(T0 + 30 * MIN);
    assert.deepEqual(h.ops("recent", 3), ["o1:delete"]);

    // A change to the customer re-evaluates its orders: o1 and o0 stay out.
    await h.writer.write([
      { topic: "customers", key: "c1", payload: { name: "Ada L." }, timestamp: T0 + 30 * MIN },
    ]);
    await h.joiner.drain();
    assert.deepEqual(h.ops("recent", 4).sort(), ["o2:update", "o3:update"]);

    // Down for 25 minutes: o2 (T0 - 10 min) crossed at T0 + 50 min, while nothing ran.
    await h.stop();
    h.clock.set(T0 + 55 * MIN);
    await h.start();
    await h.joiner.drain();
    assert.deepEqual(h.ops("recent", 6), ["o2:delete"]);
    assert.deepEqual([...h.state("recent").keys()], ["o3"]);
    // And o3 at T0 + 60 min, on the timer again.
    await h.advanceTo(T0 + 60 * MIN);
    assert.deepEqual(h.ops("recent", 7), ["o3:delete"]);
    assert.equal(h.state("recent").size, 0);
  } finally {
    await h.close();
  }
});

Deno.test("a bound on rows not yet due admits them when the clock reaches them", async () => {
  const due = {
    name: "due",
    key: "k",
    sql: `SELECT key AS k FROM orders WHERE timestamp <= unixepoch('now', 'subsec') * 1000`,
  };
  const h = await Harness.open(TOPICS, [due], T0);
  try {
    await h.writer.write([
      { topic: "orders", key: "a", payload: {}, timestamp: T0 - 1 },
      { topic: "orders", key: "b", payload: {}, timestamp: T0 + 1234 },
    ]);
    await h.joiner.drain();
    assert.deepEqual(h.ops("due"), ["a:insert"]);
    await h.advanceTo(T0 + 1233);
    assert.deepEqual(h.ops("due"), ["a:insert"]);
    await h.advanceTo(T0 + 1234);
    assert.deepEqual(h.ops("due"), ["a:insert", "b:insert"]);
  } finally {
    await h.close();
  }
});
