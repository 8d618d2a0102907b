import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "./_json_depth.ts";

/** An object whose field `a` nests `levels` levels in all (the object itself is level 1). */
const nest = (levels: number, array = false) =>
  JSON.parse(
    `{"id":1,"a":` + (array ? "[" : '{"a":').repeat(levels - 1) + "1" +
      (array ? "]" : "}").repeat(levels - 1) + "}",
  );

Deno.test("nesting depth: the limit is exactly the depth SQLite's json_extract still reads", () => {
  const db = new DatabaseSync(":memory:");
  const reads = (value: unknown) => {
    try {
      db.prepare("SELECT json_extract(?, '$.id') AS id").get(JSON.stringify(value));
      return true;
    } catch {
      return false;
    }
  };
  for (const array of [false, true]) {
    const atLimit = nest(MAX_JSON_DEPTH, array);
    const over = nest(MAX_JSON_DEPTH + 1, array);
    assert.equal(reads(atLimit), true);
    assert.equal(nestedDeeperThan(atLimit), false);
    assert.equal(reads(over), false);
    assert.equal(nestedDeeperThan(over), true);
  }
  db.close();
});

Deno.test("nesting depth: flat and wide values pass; a very deep one is caught without recursion", () => {
  assert.equal(nestedDeeperThan(null), false);
  assert.equal(nestedDeeperThan("x"), false);
  assert.equal(
    nestedDeeperThan({ a: [1, { b: 2 }], c: Array.from({ length: 10_000 }, () => ({})) }),
    false,
  );
  assert.equal(nestedDeeperThan(nest(200_000)), true);
  assert.equal(nestedDeeperThan([[[1]]], 3), false);
  assert.equal(nestedDeeperThan([[[[1]]]], 3), true);
});
