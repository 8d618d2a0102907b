import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openDuck } from "./duck.ts";
import { exportShard, parquetRelation, writeParquet } from "./parquet.ts";
import {
  installSqliteJson,
  jsonTypes,
  kindOf,
  parseQuery,
  QuerySyntaxError,
  sqliteColumnName,
} from "./sqlite_json.ts";
import { topicDdl } from "../store/topics.ts";

Deno.test("kindOf picks one SQL kind per path from the JSON types seen there", () => {
  assert.equal(kindOf(["UBIGINT", "NULL", null]), "integer");
  assert.equal(kindOf(["UBIGINT", "DOUBLE"]), "real");
  assert.equal(kindOf(["BOOLEAN"]), "boolean");
  assert.equal(kindOf(["VARCHAR", "UBIGINT"]), "text");
  assert.equal(kindOf(["VARCHAR", "BOOLEAN"]), "text_boolean");
  assert.equal(kindOf(["UBIGINT", "BOOLEAN"]), "integer_boolean");
  assert.equal(kindOf(["OBJECT"]), "text");
  assert.equal(kindOf([null, "NULL"]), "null");
});

Deno.test("parseQuery finds topics through aliases and rewrites only real json_extract calls", async () => {
  const duck = await openDuck({ threads: 1 });
  try {
    const sql =
      `SELECT o.key, json_extract(o.payload,'$.amount') AS a, JSON_EXTRACT( payload , '$.it''s' ),
        'json_extract(payload, ''$.x'')' AS literal, c.payload ->> 'name', json_extract(o.payload, k)
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id') -- json_extract(x, '$.y')
      WHERE o.key IN (SELECT key FROM extra)`;
    const parsed = await parseQuery(duck.con, sql, ["customers", "orders", "unused"]);
    assert.deepEqual(parsed.topics, ["customers", "orders"]);
    assert.deepEqual(parsed.calls, [
      { topics: ["orders"], column: "payload", path: "$.amount" },
      { topics: ["customers", "orders"], column: "payload", path: "$.it's" },
      { topics: ["customers"], column: "payload", path: "$.name" },
      { topics: ["orders"], column: "payload", path: "$.customer_id" },
    ]);
    const out = parsed.rewrite((call) => call.path === "$.amount" ? "real" : "text");
    assert.equal(
      out,
      `SELECT o.key, sqlite_json_real(o.payload,'$.amount') AS a, sqlite_json_text( payload , '$.it''s' ),
        'json_extract(payload, ''$.x'')' AS literal, sqlite_json_text(c.payload, '$.name'), sqlite_json_text_bool(o.payload, k)
      FROM orders o JOIN customers c ON c.key = sqlite_json_text(o.payload, '$.customer_id') -- json_extract(x, '$.y')
      WHERE o.key IN (SELECT key FROM extra)`,
    );
    await assert.rejects(parseQuery(duck.con, "DELETE FROM orders", ["orders"]), QuerySyntaxError);
    await assert.rejects(parseQuery(duck.con, "SELEC 1", []), /syntax error/);
    await assert.rejects(
      parseQuery(duck.con, "SELECT json_extract(payload, '$.a', '$.b') FROM orders", ["orders"]),
      /several paths/,
    );
  } finally {
    duck.close();
  }
});

Deno.test("result columns read as SQLite would name them", () => {
  assert.equal(
    sqliteColumnName(`sum(sqlite_json_real(payload, '$.a'))`),
    `sum(json_extract(payload, '$.a'))`,
  );
  assert.equal(sqliteColumnName(`count_star()`), "count(*)");
  assert.equal(sqliteColumnName(`min("key")`), "min(key)");
});

function payloadFor(i: number): Record<string, unknown> {
  return {
    amount: (i % 1000) + 0.5,
    qty: i % 7,
    customer_id: `c${i % 50}`,
    status: i % 3 === 0 ? "paid" : "open",
    paid: i % 3 === 0,
    note: i % 10 === 0 ? null : `n${i}`,
    ...(i % 4 === 0 ? {} : { coupon: "X" }),
    addr: { city: `city${i % 50}`, zip: 10000 + (i % 900) },
    tags: ["a", i % 2 ? "odd" : "even"],
    odd: 'quote " backslash \\ nl \n é中😀',
    flag: i % 3 === 0 ? true : i % 3 === 1 ? "yes" : false,
    level: i % 2 ? false : 3,
  };
}

// The same SQL, written for SQLite, run on SQLite and on Parquet through DuckDB.
const QUERIES = [
  `SELECT key, json_extract(payload,'$.status'), json_extract(payload,'$.amount'), json_extract(payload,'$.qty'),
          json_extract(payload,'$.paid'), json_extract(payload,'$.note'), json_extract(payload,'$.addr'),
          json_extract(payload,'$.addr.city'), json_extract(payload,'$.tags'), json_extract(payload,'$.tags[1]'),
          json_extract(payload,'$.missing'), json_extract(payload, '$.odd'), payload
     FROM orders ORDER BY key LIMIT 40`,
  `SELECT count(*), sum(json_extract(payload,'$.amount')), sum(json_extract(payload,'$.qty')),
          avg(json_extract(payload,'$.qty')), max(json_extract(payload,'$.addr.zip')),
          min(json_extract(payload,'$.status')), sum(json_extract(payload, '$.missing')) FROM orders`,
  `SELECT json_extract(payload,'$.status') AS s, count(*) FROM orders GROUP BY s ORDER BY s`,
  `SELECT json_extract(payload,'$.level') AS l, count(*), sum(json_extract(payload,'$.level')) FROM orders GROUP BY 1 ORDER BY 1`,
  `SELECT count(*) FROM orders WHERE json_extract(payload,'$.paid') = 1`,
  `SELECT count(*) FROM orders WHERE json_extract(payload,'$.paid')`,
  `SELECT count(*) FROM orders WHERE json_extract(payload,'$.status') = 'paid' AND json_extract(payload,'$.qty') > 3`,
  `SELECT count(*) FROM orders WHERE json_extract(payload,'$.amount') >= 500.5`,
  `SELECT count(*) FROM orders WHERE json_extract(payload,'$.note') IS NULL`,
  `SELECT count(*) FROM orders WHERE json_extract(payload,'$.coupon') = 'X'`,
  `SELECT sum(json_extract(payload,'$.amount') * json_extract(payload,'$.qty')) FROM orders`,
  `SELECT payload ->> '$.status' AS s, sum(payload ->> 'qty') FROM orders GROUP BY 1 ORDER BY 1`,
  `SELECT o.key, json_extract(o.payload,'$.amount') AS amount, json_extract(c.payload,'$.name') AS customer
     FROM orders o JOIN customers c ON c.key = json_extract(o.payload,'$.customer_id') ORDER BY o.key LIMIT 25`,
  `SELECT json_extract(c.payload,'$.name') AS name, sum(json_extract(o.payload,'$.amount')) AS revenue
     FROM orders o JOIN customers c ON c.key = json_extract(o.payload,'$.customer_id')
     WHERE o.timestamp >= 1700000000100 AND o.timestamp < 1700000009000 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5`,
  `WITH v AS (SELECT json_extract(payload, '$.vip') AS vip FROM customers) SELECT vip, count(*) FROM v GROUP BY 1 ORDER BY 1`,
];

Deno.test("SQL written for SQLite gives SQLite's answers on Parquet", async () => {
  const dir = await Deno.makeTempDir();
  const db = new DatabaseSync(`${dir}/shard_0.db`);
  db.exec(topicDdl("orders") + topicDdl("customers"));
  db.exec(
    "CREATE TABLE _litejoin_shard (id INTEGER PRIMARY KEY, seq INTEGER); INSERT INTO _litejoin_shard VALUES (0, 0)",
  );
  const insert = (topic: string) =>
    db.prepare(`INSERT INTO ${topic} (key, payload, timestamp, _seq) VALUES (?, ?, ?, ?)`);
  db.exec("BEGIN");
  const orders = insert("orders");
  for (let i = 0; i < 5000; i++) {
    orders.run(
      `o${String(i).padStart(5, "0")}`,
      JSON.stringify(payloadFor(i)),
      1_700_000_000_000 + i,
      i,
    );
  }
  const customers = insert("customers");
  for (let i = 0; i < 50; i++) {
    customers.run(
      `c${i}`,
      JSON.stringify({ name: `Customer ${i}`, vip: i % 5 === 0 }),
      1,
      10_000 + i,
    );
  }
  db.exec("COMMIT");
  const duck = await openDuck({ threads: 2 });
  try {
    const { con } = duck;
    await installSqliteJson(con);
    for (const topic of ["orders", "customers"]) {
      const ndjson = `${dir}/${topic}.ndjson`;
      const out = await Deno.open(ndjson, { write: true, create: true });
      const v = await exportShard({
        shardPath: `${dir}/shard_0.db`,
        shard: 0,
        topic,
        from: 0,
        to: Number.MAX_SAFE_INTEGER,
      }, out);
      out.close();
      assert.equal(v.rows, topic === "orders" ? 5000 : 50);
      const rows = topic === "orders" ? 5000 : 50;
      assert.equal(await writeParquet(con, ndjson, `${dir}/${topic}.parquet`, rows), rows);
      await con.run(
        `CREATE VIEW ${topic} AS SELECT * FROM ${parquetRelation([`${dir}/${topic}.parquet`])}`,
      );
    }
    const normal = (rows: unknown[][]) =>
      rows.map((r) => r.map((v) => typeof v === "bigint" ? Number(v) : v));
    for (const sql of QUERIES) {
      const expected = normal(db.prepare(sql).all().map((r) => Object.values(r)));
      const parsed = await parseQuery(con, sql, ["orders", "customers"]);
      const types = new Map<string, (string | null)[]>();
      for (const topic of parsed.topics) {
        const calls = parsed.calls.filter((c) => c.topics.includes(topic));
        for (const [k, t] of await jsonTypes(con, topic, calls)) types.set(`${topic} ${k}`, t);
      }
      const typed = parsed.rewrite((c) =>
        kindOf(c.topics.flatMap((t) => types.get(`${t} ${c.column} ${c.path}`) ?? []))
      );
      const got = normal((await con.runAndReadAll(typed)).getRowsJS());
      assert.deepEqual(got, expected, sql);
    }
    // The documented difference: a path holding booleans in some rows and strings in
    // others reads as text throughout (SQLite would give 1/0 for the booleans).
    const mixed =
      `SELECT json_extract(payload,'$.flag') AS f, count(*) FROM orders GROUP BY 1 ORDER BY 1`;
    const parsed = await parseQuery(con, mixed, ["orders"]);
    const types = await jsonTypes(con, "orders", parsed.calls);
    const typed = parsed.rewrite((c) => kindOf(types.get(`${c.column} ${c.path}`) ?? []));
    assert.deepEqual(normal((await con.runAndReadAll(typed)).getRowsJS()), [
      ["0", 1666],
      ["1", 1667],
      ["yes", 1667],
    ]);
  } finally {
    db.close();
    duck.close();
    await Deno.remove(dir, { recursive: true });
  }
});
