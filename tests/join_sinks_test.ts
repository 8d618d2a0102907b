import assert from "node:assert/strict";
import { Shard, shardPath } from "../engine/store/shard.ts";
import { shardOf } from "../engine/store/fnv.ts";
import { queryFile, type Receiver, startEngine, startReceiver, waitFor } from "./_helpers.ts";

const pipeline = (hook: string, extra = "") => `
engine: { data_dir: ./data, shard_count: 3 }
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
  - { name: customers_in, type: http, path: /customers, topic: customers, key: id }
joins:
  - name: enriched
    key: order_id
    sql: |
      SELECT o.key AS order_id, json_extract(o.payload, '$.amount') AS amount,
             json_extract(c.payload, '$.name') AS customer
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
    sinks: [hook, db]
sinks:
  - { name: hook, type: http, url: "${hook}", retries: 3, backoff: { initial: 10ms, max: 50ms } ${extra} }
  - { name: db, type: sqlite, path: ./results.db }
`;

const latest = (r: Receiver) => {
  const state = new Map<string, unknown>();
  for (const result of r.results()) {
    if (result._change?.op === "delete") state.delete(result.key);
    else state.set(result.key, result.row);
  }
  return state;
};

Deno.test("a join's changed results reach a real webhook and the SQLite sink", async () => {
  const receiver = await startReceiver();
  const t = await startEngine(pipeline(receiver.url));
  try {
    await t.post("/customers", [{ id: "c1", name: "Ada" }, { id: "c2", name: "Grace" }]);
    await t.post("/orders", [
      { id: "o1", customer_id: "c1", amount: 10 },
      { id: "o2", customer_id: "c2", amount: 20 },
      { id: "o3", customer_id: "c9", amount: 30 },
    ]);
    await waitFor("two results", () => latest(receiver).size === 2);
    // A new customer completes an order that referenced it.
    await t.post("/customers", { id: "c9", name: "Linus" });
    await waitFor("o3 joined", () => latest(receiver).has("o3"));
    // A renamed customer updates its orders; a changed customer_id to nobody deletes o1.
    await t.post("/customers", { id: "c2", name: "Grace H." });
    await t.post("/orders", { id: "o1", customer_id: "nobody", amount: 10 });
    await waitFor("o1 deleted", () => !latest(receiver).has("o1"));
    await waitFor(
      "o2 renamed",
      () => (latest(receiver).get("o2") as { customer: string })?.customer === "Grace H.",
    );
    assert.deepEqual(Object.fromEntries(latest(receiver)), {
      o2: { order_id: "o2", amount: 20, customer: "Grace H." },
      o3: { order_id: "o3", amount: 30, customer: "Linus" },
    });
    const ops = receiver.results().map((r) => `${r.key}:${r._change?.op}`);
    assert.deepEqual(ops.filter((o) => o.startsWith("o1")), ["o1:insert", "o1:delete"]);
    assert.ok(ops.includes("o2:update"));
    await t.engine.joiner.drain();
    await waitFor(
      "sqlite sink caught up",
      () => queryFile(`${t.dir}/results.db`, "SELECT count(*) AS n FROM enriched")[0].n === 2,
    );
    const rows = queryFile(
      `${t.dir}/results.db`,
      "SELECT _key, order_id, amount, customer FROM enriched ORDER BY _key",
    );
    assert.deepEqual(rows.map((r) => ({ ...r })), [
      { _key: "o2", order_id: "o2", amount: 20, customer: "Grace H." },
      { _key: "o3", order_id: "o3", amount: 30, customer: "Linus" },
    ]);
  } finally {
    await t.stop();
    await receiver.stop();
  }
});

Deno.test("a webhook that fails for a while still gets every result, in order", async () => {
  const receiver = await startReceiver();
  receiver.respond = (n) => n < 2 ? 503 : 200;
  const t = await startEngine(pipeline(receiver.url));
  try {
    await t.post("/customers", { id: "c1", name: "Ada" });
    await t.post("/orders", { id: "o1", customer_id: "c1", amount: 1 });
    await waitFor("delivery after retries", () => receiver.results().length === 1);
    assert.equal(receiver.requests, 3);
    assert.equal(
      t.engine.metrics.counter("litejoin_sink_retries_total", "").get({ sink: "hook" }),
      2,
    );
  } finally {
    await t.stop();
    await receiver.stop();
  }
});

Deno.test("a webhook's permanent 4xx is not retried and does not hold back later results", async () => {
  const receiver = await startReceiver();
  receiver.respond = (n) => n === 0 ? 400 : 200;
  const t = await startEngine(pipeline(receiver.url, ", max_batch: 1"));
  try {
    await t.post("/customers", { id: "c1", name: "Ada" });
    await t.post("/orders", { id: "o1", customer_id: "c1", amount: 1 });
    await waitFor("the first attempt", () => receiver.requests === 1);
    await t.post("/orders", { id: "o2", customer_id: "c1", amount: 2 });
    await waitFor("o2 delivered", () => receiver.results().some((r) => r.key === "o2"));
    assert.equal(
      t.engine.metrics.counter("litejoin_sink_failed_total", "").get({ sink: "hook" }),
      1,
    );
    assert.equal(
      t.engine.metrics.counter("litejoin_sink_retries_total", "").get({ sink: "hook" }),
      0,
    );
  } finally {
    await t.stop();
    await receiver.stop();
  }
});

Deno.test("a restarted engine re-emits nothing delivered and catches up on committed, unevaluated writes", async () => {
  const receiver = await startReceiver();
  const first = await startEngine(pipeline(receiver.url));
  await first.post("/customers", { id: "c1", name: "Ada" });
  await first.post("/orders", { id: "o1", customer_id: "c1", amount: 1 });
  await waitFor("o1", () => receiver.results().length === 1);
  await first.stop();
  // What a crash between a commit and its join evaluation leaves: a committed row
  // that no join has seen.
  const shards = [0, 1, 2].map((i) =>
    new Shard(i, shardPath(`${first.dir}/data`, i), ["orders", "customers"])
  );
  const o2 = JSON.stringify({ id: "o2", customer_id: "c1", amount: 2 });
  shards[shardOf("o2", 3)].apply([["orders", "o2", o2, Date.now(), null]]);
  shards.forEach((s) => s.close());
  const second = await startEngine(pipeline(receiver.url), { dir: first.dir });
  try {
    await waitFor("o2", () => receiver.results().some((r) => r.key === "o2"));
    await second.post("/orders", { id: "o3", customer_id: "c1", amount: 3 });
    await waitFor("o3", () => receiver.results().some((r) => r.key === "o3"));
    assert.deepEqual(receiver.results().map((r) => `${r.key}:${r._change?.op}`), [
      "o1:insert",
      "o2:insert",
      "o3:insert",
    ]);
  } finally {
    await second.stop();
    await receiver.stop();
  }
});
