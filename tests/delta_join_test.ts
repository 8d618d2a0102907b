/** Delta-evaluated joins end to end: HTTP in, a real webhook out, restarts in between. */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ConfigError, createLogger, parseConfig } from "../engine/mod.ts";
import { Shard, shardPath } from "../engine/store/shard.ts";
import { shardOf } from "../engine/store/fnv.ts";
import { cli, type Receiver, startEngine, startReceiver, waitFor } from "./_helpers.ts";

const pipeline = (hook: string) => `
engine: { data_dir: ./data, shard_count: 3 }
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
  - { name: customers_in, type: http, path: /customers, topic: customers, key: id }
topics:
  - { name: customers, indexes: [country] }
joins:
  - name: with_customer
    key: order_id
    sql: |
      SELECT o.key AS order_id, json_extract(o.payload, '$.amount') AS amount,
             json_extract(c.payload, '$.name') AS customer
      FROM orders o LEFT JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
    sinks: [hook]
  - name: known_customer
    key: order_id
    sql: |
      SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS customer
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
    sinks: [hook]
  - name: orders_per_customer
    key: customer_id
    sql: |
      SELECT json_extract(payload, '$.customer_id') AS customer_id, count(*) AS orders
      FROM orders GROUP BY 1
    sinks: [hook]
  - name: recent_known_customer
    key: order_id
    sql: |
      SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS customer
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
      WHERE o.timestamp > (strftime('%s', 'now') - 3600) * 1000
    sinks: [hook]
sinks:
  - { name: hook, type: http, url: "${hook}", retries: 3, backoff: { initial: 10ms, max: 50ms } }
`;

/** `key:op:field` for each result of `join` the webhook received, in order. */
const ops = (r: Receiver, join: string, field = "customer") =>
  r.results().filter((x) => x.name === join).map((x) =>
    `${x.key}:${x._change?.op}${x._change?.op === "delete" ? "" : `:${x.row[field]}`}`
  );

Deno.test("delta joins: a new customer updates its orders, a changed key deletes, and a restart keeps insert/update/delete exact", async () => {
  const receiver = await startReceiver();
  const lines: string[] = [];
  const log = createLogger({ level: "info", write: (line) => lines.push(line) });
  let t = await startEngine(pipeline(receiver.url), { log });
  try {
    assert.deepEqual(t.engine.joiner.health().map((h) => `${h.name}:${h.mode}`), [
      "with_customer:delta",
      "known_customer:delta",
      "orders_per_customer:delta",
      "recent_known_customer:delta",
    ]);
    assert.ok(
      lines.some((l) =>
        /join with_customer: .*mode delta \(SQLite shows it is delta-exact\)/.test(l)
      ),
    );
    assert.ok(
      lines.some((l) =>
        /join orders_per_customer: .*mode delta \(recomputes only the groups a batch touches/.test(
          l,
        )
      ),
    );

    await t.post("/customers", { id: "c1", name: "Ada" });
    await t.post("/orders", [
      { id: "o1", customer_id: "c1", amount: 10 },
      { id: "o2", customer_id: "c9", amount: 20 },
    ]);
    await waitFor("o1 and o2", () => ops(receiver, "with_customer").length === 2);
    // A new customer completes the order that referenced it, in both joins.
    await t.post("/customers", { id: "c9", name: "Linus" });
    await waitFor("o2 joined", () => ops(receiver, "known_customer").includes("o2:insert:Linus"));
    await waitFor("o2 updated", () => ops(receiver, "with_customer").includes("o2:update:Linus"));
    // o1 moves to a customer that does not exist: gone from the inner join, kept by the LEFT JOIN.
    await t.post("/orders", { id: "o1", customer_id: "c404", amount: 10 });
    await waitFor("o1 deleted", () => ops(receiver, "known_customer").includes("o1:delete"));
    await waitFor(
      "o1 unmatched",
      () => ops(receiver, "with_customer").includes("o1:update:null"),
    );
    await t.engine.joiner.drain();
    await t.stop();

    t = await startEngine(pipeline(receiver.url), { dir: t.dir, log });
    // After the restart, what was emitted is still known: an update, not an insert.
    await t.post("/customers", { id: "c404", name: "Grace" });
    await waitFor("o1 back", () => ops(receiver, "known_customer").includes("o1:insert:Grace"));
    await waitFor("o1 renamed", () => ops(receiver, "with_customer").includes("o1:update:Grace"));
    await t.post("/customers", { id: "c1", name: "Ada L." }); // no order refers to c1 any more
    await t.post("/orders", { id: "o3", customer_id: "c9", amount: 30 });
    await waitFor("o3", () => ops(receiver, "known_customer").includes("o3:insert:Linus"));
    await t.engine.joiner.drain();
    assert.deepEqual(ops(receiver, "with_customer"), [
      "o1:insert:Ada",
      "o2:insert:null",
      "o2:update:Linus",
      "o1:update:null",
      "o1:update:Grace",
      "o3:insert:Linus",
    ]);
    assert.deepEqual(ops(receiver, "known_customer"), [
      "o1:insert:Ada",
      "o2:insert:Linus",
      "o1:delete",
      "o1:insert:Grace",
      "o3:insert:Linus",
    ]);
    // The aggregate recomputes the groups a batch touched, and emits only groups that changed.
    assert.deepEqual(ops(receiver, "orders_per_customer", "orders"), [
      "c1:insert:1",
      "c9:insert:1",
      "c404:insert:1",
      "c1:delete",
      "c9:update:2",
    ]);
  } finally {
    await t.stop();
    await receiver.stop();
  }
});

Deno.test("every shard keeps the payload indexes that delta lookups need and those declared", async () => {
  const receiver = await startReceiver();
  const t = await startEngine(pipeline(receiver.url));
  try {
    for (let i = 0; i < 3; i++) {
      const db = new DatabaseSync(`${t.dir}/data/shard_${i}.db`, { readOnly: true });
      const sql = db.prepare(
        "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name LIKE '%\\_\\_lj\\_%' ESCAPE '\\' ORDER BY name",
      ).all().map((r) => String(r.sql).replace(/"[^"]+__lj_[^"]+"/, "<name>"));
      db.close();
      assert.deepEqual(sql, [
        `CREATE INDEX <name> ON "customers"(json_extract(payload, '$.country'))`,
        `CREATE INDEX <name> ON "orders"(json_extract(payload, '$.customer_id'))`,
        `CREATE INDEX <name> ON "orders"(CAST(json_extract(payload, '$.customer_id') AS TEXT))`,
      ]);
    }
  } finally {
    await t.stop();
    await receiver.stop();
  }
});

Deno.test("mode: delta on a query a delta cannot evaluate exactly is refused with its position and reason", () => {
  const yaml = `sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
joins:
  - name: per_customer
    key: n
    mode: delta
    sql: SELECT json_extract(payload, '$.customer_id') AS customer, count(*) AS n FROM orders GROUP BY 1
    sinks: [out]
  - name: spelled
    key: k
    mode: quick
    sql: SELECT key AS k FROM orders
    sinks: [out]
sinks:
  - { name: out, type: sqlite, path: ./out.db }
topics:
  - { name: orders, indexes: ["customer id"] }
`;
  let lines: string[] = [];
  try {
    parseConfig(yaml, "litejoin.yaml");
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    lines = error.lines;
  }
  assert.deepEqual(lines, [
    'litejoin.yaml:11:11: joins[1].mode: "quick" is not one of auto, delta, full',
    'litejoin.yaml:17:31: topics[0].indexes[0]: "customer id" is not a JSON path; write a field name such as customer_id, or a path such as $.customer.id, $.items[0] or $."odd name"',
  ]);
  const fixed = yaml.replace("mode: quick", "mode: full").replace('"customer id"', "customer_id");
  try {
    parseConfig(fixed, "litejoin.yaml");
    assert.fail("expected a ConfigError");
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    assert.deepEqual(error.lines, [
      "litejoin.yaml:6:11: joins[0].mode: delta evaluation is not exact for this query: it aggregates (AggStep, AggFinal); it groups rows (GROUP BY), and the key column n (count(*)) is not a GROUP BY term; key the join on a grouped column; use mode: auto (falls back to full) or mode: full",
    ]);
  }
});

Deno.test("a delta join retracts a result whose source row was deleted while no join ran", async () => {
  const receiver = await startReceiver();
  const first = await startEngine(pipeline(receiver.url));
  await first.post("/customers", [{ id: "c1", name: "Ada" }, { id: "c2", name: "Bob" }]);
  await first.post("/orders", [
    { id: "o1", customer_id: "c1", amount: 1 },
    { id: "o2", customer_id: "c2", amount: 2 },
  ]);
  await waitFor("two results", () => ops(receiver, "known_customer").length === 2);
  await first.stop();
  // What a crash between a commit and its join evaluation leaves: a deleted customer
  // (no row, so no key to find) and an order written after.
  const shards = [0, 1, 2].map((i) =>
    new Shard(i, shardPath(`${first.dir}/data`, i), ["customers", "orders"])
  );
  shards[shardOf("c2", 3)].apply([["customers", "c2", null, Date.now(), '{"op":"delete"}']]);
  const o3 = JSON.stringify({ id: "o3", customer_id: "c1", amount: 3 });
  shards[shardOf("o3", 3)].apply([["orders", "o3", o3, Date.now(), null]]);
  shards.forEach((s) => s.close());
  const second = await startEngine(pipeline(receiver.url), { dir: first.dir });
  try {
    await waitFor("o2 retracted", () => ops(receiver, "known_customer").includes("o2:delete"));
    await second.engine.joiner.drain();
    assert.deepEqual(ops(receiver, "known_customer"), [
      "o1:insert:Ada",
      "o2:insert:Bob",
      "o3:insert:Ada",
      "o2:delete",
    ]);
    assert.ok(ops(receiver, "with_customer").includes("o2:update:null"));
    // A clock-bounded join re-reads everything at start too (its stale() alone must not
    // skip the resync that finds the deleted customer).
    assert.deepEqual(ops(receiver, "recent_known_customer"), [
      "o1:insert:Ada",
      "o2:insert:Bob",
      "o3:insert:Ada",
      "o2:delete",
    ]);
  } finally {
    await second.stop();
    await receiver.stop();
  }
});

Deno.test("litejoin validate shows each join's mode and why, and exits 2 when mode: delta is impossible", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-cli-" });
  const yaml = pipeline("http://127.0.0.1:9/hook");
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, yaml);
  const ok = await cli(["validate", "-c", `${dir}/litejoin.yaml`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(ok.stdout.trim().split("\n").slice(1), [
    "  join with_customer: mode delta (SQLite shows it is delta-exact)",
    "  join known_customer: mode delta (SQLite shows it is delta-exact)",
    "  join orders_per_customer: mode delta (recomputes only the groups a batch touches (GROUP BY json_extract(payload, '$.customer_id')))",
    "  join recent_known_customer: mode delta (SQLite shows it is delta-exact; bounded by the clock, also evaluated when a row crosses)",
  ]);
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    yaml.replace(
      "  - name: orders_per_customer\n",
      "  - name: orders_per_customer\n    mode: delta\n",
    ).replace("FROM orders GROUP BY 1", "FROM orders GROUP BY 1 ORDER BY orders DESC LIMIT 10"),
  );
  const refused = await cli(["validate", "-c", `${dir}/litejoin.yaml`]);
  assert.equal(refused.code, 2);
  assert.match(
    refused.stderr,
    /litejoin\.yaml:\d+:11: joins\[2\]\.mode: delta evaluation is not exact for this query: it aggregates/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a delta join whose SQL changes between runs re-runs once and emits only the difference", async () => {
  const receiver = await startReceiver();
  const first = await startEngine(pipeline(receiver.url));
  await first.post("/customers", { id: "c1", name: "Ada" });
  await first.post("/orders", [
    { id: "o1", customer_id: "c1", amount: 10 },
    { id: "o2", customer_id: "c1", amount: 20 },
  ]);
  await waitFor("two results", () => ops(receiver, "known_customer").length === 2);
  await first.stop();
  const narrowed = pipeline(receiver.url).replace(
    "FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')",
    "FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')\n" +
      "      WHERE json_extract(o.payload, '$.amount') > 15",
  );
  assert.notEqual(narrowed, pipeline(receiver.url));
  const second = await startEngine(narrowed, { dir: first.dir });
  try {
    await waitFor("o1 dropped", () => ops(receiver, "known_customer").includes("o1:delete"));
    // Provenance was rebuilt for the new SQL: a later change still reaches o2.
    await second.post("/customers", { id: "c1", name: "Ada L." });
    await waitFor("o2 renamed", () => ops(receiver, "known_customer").includes("o2:update:Ada L."));
    await second.engine.joiner.drain();
    assert.deepEqual(ops(receiver, "known_customer"), [
      "o1:insert:Ada",
      "o2:insert:Ada",
      "o1:delete",
      "o2:update:Ada L.",
    ]);
  } finally {
    await second.stop();
    await receiver.stop();
  }
});
