import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { allRows } from "./rows.ts";

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
  (arrays as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
  assert.deepEqual(allRows<unknown[]>(arrays, []).map((r) => [...r]), [[2 ** 63, -(2 ** 63)]]);
  assert.throws(() => allRows(db.prepare("SELECT json_extract('{', '$')"), []), /malformed/);
  db.close();
});
