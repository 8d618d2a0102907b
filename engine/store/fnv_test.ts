import assert from "node:assert/strict";
import { fnv1a32, shardOf } from "./fnv.ts";

function reference(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

Deno.test("fnv1a32 matches the published test vectors", () => {
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
});

Deno.test("fnv1a32 hashes the UTF-8 bytes of non-ASCII keys", () => {
  for (const key of ["é", "ключ", "日本語", "emoji 😀", "mixed-ü-😀-x", "\ud800 lone"]) {
    assert.equal(fnv1a32(key), reference(key), key);
  }
});

Deno.test("shardOf routes a key to the same shard every time", () => {
  const routes = ["order-1", "order-2", "customer-42"].map((k) => shardOf(k, 4));
  assert.deepEqual(routes, ["order-1", "order-2", "customer-42"].map((k) => reference(k) % 4));
  assert.deepEqual(routes, [
    shardOf("order-1", 4),
    shardOf("order-2", 4),
    shardOf("customer-42", 4),
  ]);
});

Deno.test("shardOf spreads keys evenly over the shards", () => {
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 40_000; i++) counts[shardOf(`key-${i}`, 4)]++;
  for (const c of counts) assert.ok(c > 9_000 && c < 11_000, `uneven shard counts ${counts}`);
});
