import assert from "node:assert/strict";
import { analyzeDelta } from "./delta_plan.ts";
import { DeltaSql } from "./delta_sql.ts";

const TOPICS = ["customers", "items", "orders"];

const reason = (sql: string) => {
  const analysis = analyzeDelta(sql, TOPICS);
  assert.ok(!analysis.exact, `expected ${sql} to need full evaluation`);
  return analysis.reason;
};

const plan = (sql: string) => {
  const analysis = analyzeDelta(sql, TOPICS);
  assert.ok(
    analysis.exact,
    `expected ${sql} to be delta-exact: ${!analysis.exact && analysis.reason}`,
  );
  return analysis.plan;
};

Deno.test("SQLite's program shows which queries a delta cannot evaluate exactly", () => {
  assert.match(reason("SELECT count(*) AS n FROM orders"), /aggregates \(.*Count/);
  assert.match(
    reason("SELECT json_extract(payload, '$.c') AS c, sum(timestamp) AS s FROM orders GROUP BY 1"),
    /aggregates \(AggStep/,
  );
  assert.match(reason("SELECT timestamp AS t FROM orders GROUP BY timestamp"), /GROUP BY/);
  assert.match(reason("SELECT DISTINCT key, timestamp FROM orders"), /DISTINCT/);
  assert.match(reason("SELECT key FROM orders ORDER BY timestamp LIMIT 10"), /LIMIT/);
  assert.match(
    reason("SELECT key, row_number() OVER (ORDER BY timestamp) AS r FROM orders"),
    /window functions \(AggValue/,
  );
  assert.match(
    reason("SELECT key FROM orders UNION ALL SELECT key FROM customers"),
    /compound SELECT/,
  );
  assert.match(reason("SELECT key FROM orders EXCEPT SELECT key FROM customers"), /compound/);
  assert.match(reason("SELECT key, random() AS r FROM orders"), /random\(\)/);
  // A bound on the clock runs by delta (clock_bound_test.ts); the clock elsewhere does not.
  assert.match(
    reason("SELECT key, unixepoch('now') * 1000 - timestamp AS age FROM orders"),
    /reads the clock in its result columns/,
  );
  assert.match(reason("SELECT key, CURRENT_TIMESTAMP AS t FROM orders"), /clock/);
});

Deno.test("queries whose delta would miss rows are evaluated in full", () => {
  // A topic read in a subquery is not narrowed by any delta.
  assert.match(
    reason(`SELECT o.key FROM orders o
            WHERE EXISTS (SELECT 1 FROM customers c WHERE c.key = json_extract(o.payload, '$.c'))`),
    /reads customers outside the FROM clause/,
  );
  // An anti-join: a new customer removes an order from the result, which no delta row shows.
  assert.match(
    reason(`SELECT o.key FROM orders o
            LEFT JOIN customers c ON c.key = json_extract(o.payload, '$.c') WHERE c.key IS NULL`),
    /right side of a LEFT JOIN \(c\) is tested in WHERE/,
  );
  assert.match(reason("SELECT o.key FROM orders o RIGHT JOIN items i ON i.key = o.key"), /RIGHT/);
});

Deno.test("a date computed from a row is deterministic; a null-rejecting WHERE keeps LEFT JOINs exact", () => {
  plan("SELECT key, date(timestamp / 1000, 'unixepoch') AS day FROM orders");
  plan(`SELECT o.key FROM orders o LEFT JOIN customers c ON c.key = json_extract(o.payload, '$.c')
        WHERE c.timestamp > 5`);
});

Deno.test("each topic drives its own delta and narrows the others through indexed equalities", () => {
  const p = plan(`
    SELECT o.key AS id FROM orders o
    JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
    LEFT JOIN items i ON json_extract(i.payload, '$.sku') = json_extract(o.payload, '$.sku')`);
  const edges = p.drives.map((d) => d.map((r) => `${r.from}->${r.occ}:${r.lookup}`));
  assert.deepEqual(edges, [
    ["0->1:key", "0->2:json_extract(payload, '$.sku')"],
    [
      "1->0:CAST(json_extract(payload, '$.customer_id') AS TEXT)",
      "0->2:json_extract(payload, '$.sku')",
    ],
    // Items are a LEFT JOIN: their own ON narrows them, but cannot narrow orders...
    // ...except when items drive, which makes that join inner.
    ["2->0:json_extract(payload, '$.sku')", "0->1:key"],
  ]);
  assert.deepEqual(
    p.indexes.map((i) => `${i.topic}:${i.as}:${i.path}`).sort(),
    [
      "items:json:$.sku",
      "items:json:$.sku",
      "orders:json:$.sku",
      "orders:text:$.customer_id",
    ],
  );
});

Deno.test("a LEFT JOIN's ON does not narrow the rows before it unless the join is inner", () => {
  const p = plan(`SELECT o.key AS id FROM orders o
    LEFT JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')`);
  assert.deepEqual(p.drives.map((d) => d.map((r) => r.occ)), [[1], [0]]);
  const sql = new DeltaSql(p, 2);
  // Orders driving keep the LEFT JOIN; customers driving make it inner.
  assert.match(sql.drive([0]), /"__lj_0_0" o\s+LEFT JOIN "__lj_0_1" c/);
  assert.match(sql.drive([1]), /"__lj_1_0" o\s+JOIN "__lj_1_1" c/);
  // Every statement carries each occurrence's source key and drops ORDER BY.
  assert.match(sql.full(), /"o"\.key AS __lj_k0, "c"\.key AS __lj_k1/);
});

Deno.test("a self-join narrows each side in turn", () => {
  const p = plan(`SELECT a.key AS id, b.key AS parent FROM orders a
    JOIN orders b ON b.key = a.payload ->> '$.parent' ORDER BY a.key`);
  assert.deepEqual(p.shape.occurrences.map((o) => o.alias), ["a", "b"]);
  const sql = new DeltaSql(p, 3);
  const text = sql.drive([0, 1]);
  assert.equal(text.match(/UNION ALL\nSELECT/g)?.length, 1);
  assert.doesNotMatch(text, /ORDER BY/);
  // Three shards, two occurrences: each key goes to its own shard's parameter.
  const params = sql.params([["o1", "o2"], ["o3"]]);
  assert.equal(params.length, 6);
  assert.deepEqual(params.flatMap((p) => JSON.parse(p)).sort(), ["o1", "o2", "o3"]);
});
