import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openConsoleDatabase, runRequest, type SqlReply } from "./sql_child.ts";
import { Shard } from "../store/shard.ts";

async function consoleDb() {
  const dataDir = await Deno.makeTempDir();
  const shards = [0, 1].map((i) => new Shard(i, `${dataDir}/shard_${i}.db`, ["orders"]));
  shards[0].apply([["orders", "a", '{"n":1}', 10, null]]);
  shards[1].apply([["orders", "b", '{"n":2}', 20, null], ["orders", "c", '{"n":3}', 30, null]]);
  const { db, policy } = openConsoleDatabase({
    dataDir,
    shardCount: 2,
    topics: ["orders"],
    busyTimeoutMs: 1000,
  });
  const run = (sql: string, maxRows = 100, maxBytes = 1 << 20): SqlReply =>
    runRequest(db, policy, { id: 1, sql, maxRows, maxBytes });
  const close = async () => {
    db.close();
    for (const shard of shards) shard.close();
    await Deno.remove(dataDir, { recursive: true });
  };
  return { run, close, dataDir };
}

Deno.test("console SQL reads topics across shards, with pragmas that only read", async () => {
  const { run, close } = await consoleDb();
  const reply = run("SELECT key, json_extract(payload, '$.n') AS n FROM orders ORDER BY key;");
  assert.ok(!("error" in reply), JSON.stringify(reply));
  assert.deepEqual(reply.columns, ["key", "n"]);
  assert.deepEqual(reply.rows, [["a", 1], ["b", 2], ["c", 3]]);
  assert.equal(reply.truncated, false);
  const pragma = run("PRAGMA table_info(orders)");
  assert.ok(!("error" in pragma) && pragma.rows.length === 5, JSON.stringify(pragma));
  assert.ok(!("error" in run("PRAGMA s0.user_version")));
  assert.ok(!("error" in run("EXPLAIN QUERY PLAN SELECT * FROM orders WHERE key = 'a'")));
  await close();
});

Deno.test("console SQL cuts results at the row limit and the size limit, and says so", async () => {
  const { run, close } = await consoleDb();
  const two = run("SELECT key FROM orders ORDER BY key", 2);
  assert.ok(!("error" in two));
  assert.deepEqual([two.rows, two.truncated], [[["a"], ["b"]], true]);
  const small = run("SELECT key, payload FROM orders ORDER BY key", 100, 10);
  assert.ok(!("error" in small));
  assert.deepEqual([small.rows.length, small.truncated], [1, true]);
  const blob = run("SELECT x'00ff' AS b, 9007199254740993 AS big");
  assert.ok(!("error" in blob));
  assert.deepEqual(blob.rows, [["x'00ff'", "9007199254740993"]]);
  await close();
});

Deno.test("console SQL refuses every kind of write with one line naming it, and the shards stay unchanged", async () => {
  const { run, close, dataDir } = await consoleDb();
  const refused: Record<string, string> = {
    "INSERT INTO s0.orders VALUES ('x', '{}', 1, 1, NULL)": "INSERT into orders",
    "UPDATE s1.orders SET payload = '{}'": "UPDATE into orders",
    "DELETE FROM s0.orders": "DELETE from orders",
    "DELETE FROM orders": "writing to orders",
    "CREATE TABLE s0.t (x)": "changing the schema (CREATE, DROP, ALTER)",
    "DROP TABLE s0.orders": "changing the schema (CREATE, DROP, ALTER)",
    "ALTER TABLE s0.orders ADD COLUMN y": "ALTER TABLE",
    "ATTACH '/tmp/elsewhere.db' AS x": "ATTACH (and VACUUM INTO)",
    [`VACUUM s0 INTO '${dataDir}/copy.db'`]: "ATTACH (and VACUUM INTO)",
    "PRAGMA query_only = OFF": "PRAGMA query_only = OFF",
    "PRAGMA s0.journal_mode = DELETE": "PRAGMA journal_mode = DELETE",
    "PRAGMA writable_schema": "PRAGMA writable_schema",
    "BEGIN": "transactions (BEGIN, COMMIT)",
    "SELECT load_extension('x')": "load_extension()",
    "REINDEX": "REINDEX",
  };
  for (const [sql, what] of Object.entries(refused)) {
    const reply = run(sql);
    assert.ok("error" in reply, `${sql} was allowed`);
    assert.deepEqual([reply.kind, reply.error], [
      "read_only",
      `read-only console: ${what} not allowed`,
    ], sql);
  }
  assert.equal(await Deno.stat(`${dataDir}/copy.db`).catch(() => null), null);
  for (const i of [0, 1]) {
    const db = new DatabaseSync(`${dataDir}/shard_${i}.db`, { readOnly: true });
    const names = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => r.name);
    assert.deepEqual(names, ["_litejoin_shard", "orders"]);
    assert.equal(db.prepare("SELECT count(*) AS n FROM orders").get()!.n, i === 0 ? 1 : 2);
    db.close();
  }
  await close();
});

Deno.test("console SQL reports SQL errors, several statements and runtime errors instead of partial rows", async () => {
  const { run, close } = await consoleDb();
  assert.deepEqual(run("SELECT nope FROM orders"), {
    id: 1,
    error: "no such column: nope",
    kind: "sql_error",
  });
  assert.deepEqual(run("SELECT 1; SELECT 2"), {
    id: 1,
    error: "one statement at a time: this text holds 2 (separated by ;)",
    kind: "bad_request",
  });
  const overflow = run(
    "SELECT key, abs(-9223372036854775808 + (key = 'c')) FROM orders ORDER BY key",
  );
  assert.ok("error" in overflow, JSON.stringify(overflow));
  assert.equal(overflow.error, "integer overflow");
  await close();
});
