import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { allArrays, allRows } from "./rows.ts";

Deno.test("rows: an integer beyond 2^53 reads as the nearest number instead of failing", () => {
  const db = new DatabaseSync(":memory:");
  const statement = db.prepare("SELECT json_extract(?, '$.n') AS n, 1 AS one, 'x' AS s");
  assert.throws(() => statement.all('{"n":9007199254740993}'), RangeError);
  assert.deepEqual(allRows(statement, ['{"n":9007199254740993}']).map((r) => ({ ...r })), [
    { n: 9007199254740992, one: 1, s: "x" },
  ]);
  // The statement reads plain numbers again afterwards.
  assert.deepEqual(allRows(statement, ['{"n":5}']).map((r) => ({ ...r })), [
    { n: 5, one: 1, s: "x" },
  ]);
  const arrays = db.prepare("SELECT 9223372036854775807 AS big, -9223372036854775808 AS small");
  assert.deepEqual(allArrays(arrays, []), [[2 ** 63, -(2 ** 63)]]);
  assert.throws(() => allRows(db.prepare("SELECT json_extract('{', '$')"), []), /malformed/);
  db.close();
});

Deno.test("rows: objects keyed by column name as node:sqlite makes them", () => {
  const db = new DatabaseSync(":memory:");
  const sql = "SELECT 1 AS a, 2 AS a, 'x' AS __proto__, NULL AS n, x'00ff' AS b FROM json_each(?)";
  const made = allRows(db.prepare(sql), ["[1, 2]"]);
  assert.deepEqual(made, db.prepare(sql).all("[1, 2]"));
  assert.equal(Object.getPrototypeOf(made[0]), null);
  assert.deepEqual(Object.keys(made[0]), ["a", "__proto__", "n", "b"]);
  assert.deepEqual(allRows(db.prepare(sql), ["[]"]), []);
  // A statement prepared again after a schema change reads what node:sqlite reads.
  db.exec("CREATE TABLE t (a)");
  db.exec("INSERT INTO t VALUES (1)");
  const [star, twin] = [db.prepare("SELECT * FROM t"), db.prepare("SELECT * FROM t")];
  assert.deepEqual(allRows(star, []), twin.all());
  db.exec("ALTER TABLE t ADD COLUMN b DEFAULT 2");
  assert.deepEqual(allRows(star, []), twin.all());
  db.close();
});
