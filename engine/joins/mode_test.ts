import assert from "node:assert/strict";
import { parseConfig } from "../config/load.ts";
import { type Row, Shard, shardPath } from "../store/shard.ts";
import { shardOf } from "../store/fnv.ts";
import { Readers } from "../store/readers.ts";
import { Meta } from "../store/meta.ts";
import { EmittedState } from "./emitted.ts";
import { chooseEvaluator, deltaScans, topicIndexes } from "./mode.ts";

const SHARDS = 3;

const CONFIG = `
topics:
  - { name: orders, indexes: [status, "$.address.city"] }
  - { name: customers }
  - { name: items }
joins:
  - name: enriched
    key: order_id
    sql: |
      SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS customer
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
    sinks: [out]
  - name: left_three
    key: order_id
    sql: |
      SELECT o.key AS order_id, c.key AS customer, i.key AS item
      FROM orders o
      LEFT JOIN customers c ON json_extract(o.payload, '$.customer_id') = c.key
      LEFT JOIN items i ON json_extract(i.payload, '$.sku') = json_extract(o.payload, '$.sku')
      WHERE o.timestamp > 1000
    sinks: [out]
  - name: parents
    key: order_id
    sql: |
      SELECT o.key AS order_id, p.key AS parent FROM orders o, orders p
      WHERE p.key = o.payload ->> '$.parent'
    sinks: [out]
  - name: per_customer
    key: customer_id
    sql: |
      SELECT json_extract(payload, '$.customer_id') AS customer_id, count(*) AS n
      FROM orders GROUP BY 1
    sinks: [out]
  - name: forced_full
    key: order_id
    mode: full
    sql: SELECT o.key AS order_id FROM orders o JOIN items i ON i.key = o.payload ->> '$.item'
    sinks: [out]
sinks:
  - { name: out, type: sqlite, path: ./out.db }
`;

/** Shards holding `orders` rows (large) and a few hundred customers and items. */
async function shards(indexes: ReturnType<typeof topicIndexes>) {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-mode-" });
  const topics = ["customers", "items", "orders"];
  const open = Array.from(
    { length: SHARDS },
    (_, i) => new Shard(i, shardPath(dir, i), topics, { synchronous: "normal", indexes }),
  );
  const rows: Row[][] = open.map(() => []);
  const put = (topic: string, key: string, payload: unknown) =>
    rows[shardOf(key, SHARDS)].push([topic, key, JSON.stringify(payload), 2000, null]);
  for (let i = 0; i < 20_000; i++) {
    put("orders", `o${i}`, { customer_id: `c${i % 300}`, sku: `s${i % 50}`, parent: `o${i >> 1}` });
  }
  for (let i = 0; i < 300; i++) put("customers", `c${i}`, { name: `n${i}` });
  for (let i = 0; i < 50; i++) put("items", `i${i}`, { sku: `s${i}` });
  open.forEach((s, i) => s.apply(rows[i]));
  open.forEach((s) => s.close());
  const readers = await Readers.open(
    { dataDir: dir, shardCount: SHARDS, topics, busyTimeoutMs: 5000 },
    1,
  );
  const meta = new Meta(`${dir}/meta.db`);
  return {
    dir,
    readers,
    meta,
    close: async () => {
      readers.close();
      meta.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function evaluators(config: ReturnType<typeof parseConfig>, s: Awaited<ReturnType<typeof shards>>) {
  return config.joins.map((join) => {
    const definition = {
      name: join.name,
      key: join.key,
      sql: join.sql,
      topics: config.joinSql.get(join.name)!.topics,
    };
    return chooseEvaluator(join, definition, config.joinDelta.get(join.name), {
      readers: s.readers,
      emitted: new EmittedState(s.meta, join.name),
      clock: { now: () => 0 },
      shardCount: SHARDS,
    });
  });
}

Deno.test("mode auto picks delta where SQLite shows it exact, and says why otherwise", () => {
  const config = parseConfig(CONFIG, "litejoin.yaml");
  const modes = config.joins.map((j) => {
    const a = config.joinDelta.get(j.name);
    return j.mode === "full" ? "full (configured)" : a?.exact ? "delta" : `full (${a?.reason})`;
  });
  assert.deepEqual(modes, [
    "delta",
    "delta",
    "delta",
    "delta",
    "full (configured)",
  ]);
});

Deno.test("shards index the payload fields that delta lookups and topics[].indexes name", () => {
  const config = parseConfig(CONFIG, "litejoin.yaml");
  assert.deepEqual(
    topicIndexes(config).map((i) => `${i.topic} ${i.as} ${i.path}`),
    [
      "items json $.sku",
      "orders json $.address.city",
      "orders json $.customer_id",
      "orders json $.sku",
      "orders json $.status",
      "orders text $.customer_id",
      "orders text $.parent",
    ],
  );
});

Deno.test("no delta plan scans a topic: every other topic is reached through an index (EXPLAIN QUERY PLAN)", async () => {
  const config = parseConfig(CONFIG, "litejoin.yaml");
  const s = await shards(topicIndexes(config));
  try {
    const chosen = evaluators(config, s);
    assert.deepEqual(chosen.map((c) => c.evaluator.mode), [
      "delta",
      "delta",
      "delta",
      "delta",
      "full",
    ]);
    for (const { evaluator } of chosen) {
      assert.deepEqual(await deltaScans(evaluator, s.readers), [], evaluator.mode);
    }
    // The same plans read orders through the customer_id index, not by scanning them.
    const customersDrive = (chosen[0].evaluator as unknown as {
      statements(): [string, string, string[]][];
    }).statements()[1];
    const plan = await s.readers.all(`EXPLAIN QUERY PLAN ${customersDrive[1]}`, customersDrive[2]);
    assert.ok(
      plan.some((r) =>
        /SEARCH s\d\.orders USING INDEX orders__lj_text_customer_id/.test(String(r.detail))
      ),
      JSON.stringify(plan.map((r) => r.detail)),
    );
  } finally {
    await s.close();
  }
});

Deno.test("without the payload indexes the same check reports the scans", async () => {
  const config = parseConfig(CONFIG, "litejoin.yaml");
  const s = await shards([]);
  try {
    const chosen = evaluators(config, s);
    assert.deepEqual(await deltaScans(chosen[0].evaluator, s.readers), ["customers -> orders"]);
  } finally {
    await s.close();
  }
});
