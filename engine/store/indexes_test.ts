import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { indexExpression, indexName, jsonPathProblem, uniqueIndexes } from "./indexes.ts";
import { Shard, shardPath } from "./shard.ts";

const names = (path: string) =>
  new DatabaseSync(path, { readOnly: true }).prepare(
    "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND name LIKE '%\\_\\_lj\\_%' ESCAPE '\\' ORDER BY name",
  ).all().map((r) => `${r.name}: ${r.sql}`);

Deno.test("a shard creates the payload indexes it is given and drops those no longer wanted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-indexes-" });
  try {
    const customer = { topic: "orders", path: "$.customer_id", as: "text" } as const;
    const sku = { topic: "orders", path: "$.sku", as: "json" } as const;
    const path = shardPath(dir, 0);
    let shard = new Shard(0, path, ["orders"], { indexes: [customer, sku] });
    assert.deepEqual(
      shard.indexChanges.created.sort(),
      [indexName(customer), indexName(sku)].sort(),
    );
    shard.close();
    assert.deepEqual(
      names(path),
      [
        `${indexName(customer)}: CREATE INDEX "${
          indexName(customer)
        }" ON "orders"(CAST(json_extract(payload, '$.customer_id') AS TEXT))`,
        `${indexName(sku)}: CREATE INDEX "${
          indexName(sku)
        }" ON "orders"(json_extract(payload, '$.sku'))`,
      ].sort(),
    );
    shard = new Shard(0, path, ["orders"], { indexes: [sku] });
    assert.deepEqual(shard.indexChanges, { created: [], dropped: [indexName(customer)] });
    shard.close();
    // Without an index list (tools that open a shard for other reasons), nothing changes.
    shard = new Shard(0, path, ["orders"]);
    shard.close();
    assert.equal(names(path).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("index names are stable, distinct per form, and lookups write the same expression", () => {
  const a = { topic: "orders", path: "$.customer.id", as: "json" } as const;
  assert.equal(indexName(a), indexName({ ...a }));
  assert.notEqual(indexName(a), indexName({ ...a, as: "text" }));
  assert.notEqual(indexName(a), indexName({ ...a, path: "$.customer_id" }));
  assert.equal(indexExpression({ path: "$.it's", as: "json" }), "json_extract(payload, '$.it''s')");
  assert.equal(uniqueIndexes([a, { ...a }, { ...a, as: "text" }]).length, 2);
});

Deno.test("declared index paths are checked", () => {
  assert.equal(jsonPathProblem("customer_id"), undefined);
  assert.equal(jsonPathProblem("$.items[0].sku"), undefined);
  assert.match(jsonPathProblem("customer id")!, /is not a JSON path; write a field name/);
  assert.match(jsonPathProblem("$[")!, /not a JSON path/);
});
