import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteSink, sqlValue } from "./sqlite.ts";

Deno.test("whole numbers bind as INTEGER, fractions as REAL, up to SQLite's 64-bit range", () => {
  assert.equal(sqlValue(1000), 1000n);
  assert.equal(sqlValue(-7), -7n);
  assert.equal(sqlValue(2.5), 2.5);
  assert.equal(sqlValue(9007199254740994), 9007199254740994n);
  assert.equal(sqlValue(1e300), 1e300);
  assert.equal(sqlValue(true), 1);
  assert.equal(sqlValue(undefined), null);
  assert.equal(sqlValue({ a: 1 }), '{"a":1}');
});

Deno.test("the SQLite sink stores an integer as INTEGER, a real as REAL, text and null as such", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-sqlite-sink-" });
  const sink = new SqliteSink("db", { path: `${dir}/out.db` } as never);
  await sink.send([{
    name: "q9",
    key: "a1",
    row: { auction: 1000, price: 12.75, name: "lamp", seller: null, big: 2 ** 53 + 2 },
    timestamp: 0,
    _change: { op: "insert" },
  }]);
  await sink.close();
  const db = new DatabaseSync(`${dir}/out.db`);
  const row = db.prepare(
    `SELECT typeof(auction) a, typeof(price) p, typeof(name) n, typeof(seller) s,
            typeof(big) b, CAST(auction AS TEXT) text FROM q9`,
  ).get();
  db.close();
  assert.deepEqual({ ...row }, {
    a: "integer",
    p: "real",
    n: "text",
    s: "null",
    b: "integer",
    text: "1000",
  });
  await Deno.remove(dir, { recursive: true });
});
