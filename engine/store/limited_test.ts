import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { cutRows, prepareLimited } from "./limited.ts";

const db = new DatabaseSync(":memory:");
db.exec(
  "CREATE TABLE t(x); INSERT INTO t VALUES ('{\"a\":1}'), ('{\"a\":2}'), ('oops'), ('{\"a\":4}')",
);

Deno.test("a limited read stops at the limit and says there was more", () => {
  const { statement, args } = prepareLimited(db, "SELECT x FROM t ORDER BY rowid;", 2);
  assert.deepEqual(cutRows(statement.all(...args), 2).truncated, true);
  const all = prepareLimited(db, "SELECT x FROM t", 10);
  assert.deepEqual(cutRows(all.statement.all(...all.args), 10), {
    rows: all.statement.all(...all.args),
    truncated: false,
  });
});

Deno.test("a limited read raises a runtime error instead of returning the rows before it", () => {
  const { statement, args } = prepareLimited(db, "SELECT json_extract(x, '$.a') AS a FROM t", 100);
  assert.throws(() => statement.all(...args), /malformed JSON/);
});

Deno.test("a statement that cannot be wrapped runs as it is", () => {
  const { statement, args } = prepareLimited(db, "EXPLAIN QUERY PLAN SELECT * FROM t", 5);
  assert.deepEqual(args, []);
  assert.ok(statement.all().length > 0);
});
