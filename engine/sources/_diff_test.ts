import assert from "node:assert/strict";
import { canonicalJson, changedFields, itemHash } from "./_diff.ts";

Deno.test("canonical JSON sorts keys at every depth and keeps array order", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }),
    '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
  );
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
});

Deno.test("item hash ignores key order and sees any change of value", () => {
  assert.equal(itemHash({ id: 1, name: "a" }), itemHash({ name: "a", id: 1 }));
  assert.notEqual(itemHash({ id: 1, name: "a" }), itemHash({ id: 1, name: "b" }));
  assert.notEqual(itemHash({ id: 1, n: 1 }), itemHash({ id: 1, n: "1" }));
  assert.notEqual(itemHash({ id: 1 }), itemHash({ id: 1, extra: null }));
});

Deno.test("changed fields lists added, removed and changed top-level fields, sorted", () => {
  assert.deepEqual(
    changedFields(
      { id: 1, name: "a", tags: ["x"], gone: true, same: { p: 1, q: 2 } },
      { id: 1, name: "b", tags: ["x", "y"], added: 0, same: { q: 2, p: 1 } },
    ),
    ["added", "gone", "name", "tags"],
  );
  assert.deepEqual(changedFields({ id: 1 }, { id: 1 }), []);
});
