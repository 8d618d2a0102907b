import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Shard, shardPath } from "./shard.ts";
import { BacklogError, type CommittedBatch, Writer } from "./writer.ts";
import { Readers } from "./readers.ts";
import { shardOf } from "./fnv.ts";
import type { Message } from "../types.ts";

function openShards(dir: string, count = 4, topics = ["orders", "customers"]): Shard[] {
  return Array.from({ length: count }, (_, i) => new Shard(i, shardPath(dir, i), topics));
}

const msg = (
  key: string,
  payload: Record<string, unknown>,
  topic = "orders",
  timestamp = 1000,
): Message => ({
  topic,
  key,
  payload,
  timestamp,
});

Deno.test("writer stores each key in the shard its FNV hash picks", async () => {
  const dir = await Deno.makeTempDir();
  const shards = openShards(dir);
  const writer = new Writer(shards, { flushIntervalMs: 5, batchSize: 1000, maxBacklog: 10_000 });
  const keys = Array.from({ length: 200 }, (_, i) => `order-${i}`);
  await writer.write(keys.map((k) => msg(k, { id: k })));
  for (const key of keys) {
    const holders = shards.filter((s) =>
      s.db.prepare("SELECT 1 FROM orders WHERE key = ?").get(key)
    );
    assert.deepEqual(holders.map((s) => s.index), [shardOf(key, 4)], key);
  }
  shards.forEach((s) => s.close());
});

Deno.test("writer upserts: the latest message for a key wins, within and across batches", async () => {
  const dir = await Deno.makeTempDir();
  const shards = openShards(dir, 2);
  const writer = new Writer(shards, { flushIntervalMs: 5, batchSize: 1000, maxBacklog: 10_000 });
  await writer.write([msg("a", { v: 1 }), msg("a", { v: 2 }, "orders", 2000)]);
  await writer.write([msg("a", { v: 3 }, "orders", 3000)]);
  const shard = shards[shardOf("a", 2)];
  const rows = shard.db.prepare("SELECT payload, timestamp FROM orders").all();
  assert.deepEqual(rows.map((r) => [JSON.parse(String(r.payload)).v, r.timestamp]), [[3, 3000]]);
  shards.forEach((s) => s.close());
});

Deno.test("writer deletes a key on a delete change", async () => {
  const dir = await Deno.makeTempDir();
  const shards = openShards(dir, 1);
  const writer = new Writer(shards, { flushIntervalMs: 5, batchSize: 1000, maxBacklog: 10_000 });
  await writer.write([msg("a", { v: 1 }), msg("b", { v: 1 })]);
  await writer.write([{ ...msg("a", {}), _change: { op: "delete" } }]);
  const keys = shards[0].db.prepare("SELECT key FROM orders").all().map((r) => r.key);
  assert.deepEqual(keys, ["b"]);
  shards.forEach((s) => s.close());
});

Deno.test("writer groups concurrent writes into one commit per shard", async () => {
  const dir = await Deno.makeTempDir();
  const shards = openShards(dir, 1);
  const writer = new Writer(shards, { flushIntervalMs: 20, batchSize: 1000, maxBacklog: 10_000 });
  const batches: CommittedBatch[] = [];
  writer.onCommit((b) => batches.push(b));
  await Promise.all(Array.from({ length: 50 }, (_, i) => writer.write([msg(`k${i}`, { i })])));
  assert.equal(batches.length, 1);
  assert.equal(batches[0].messages.length, 50);
  assert.equal(batches[0].seq, 50);
  shards.forEach((s) => s.close());
});

Deno.test("writer commits early once batch_size messages wait", async () => {
  const dir = await Deno.makeTempDir();
  const shards = openShards(dir, 1);
  const writer = new Writer(shards, { flushIntervalMs: 60_000, batchSize: 10, maxBacklog: 10_000 });
  await writer.write(Array.from({ length: 10 }, (_, i) => msg(`k${i}`, { i })));
  assert.equal(shards[0].seq, 10);
  shards.forEach((s) => s.close());
});

Deno.test("writer refuses writes past the backlog and queues none of them", async () => {
  const dir = await Deno.makeTempDir();
  const shards = openShards(dir, 1);
  const writer = new Writer(shards, { flushIntervalMs: 50, batchSize: 1000, maxBacklog: 5 });
  const first = writer.write(Array.from({ length: 4 }, (_, i) => msg(`k${i}`, {})));
  await assert.rejects(writer.write([msg("x", {}), msg("y", {})]), BacklogError);
  await first;
  const count = shards[0].db.prepare("SELECT count(*) AS n FROM orders").get();
  assert.equal(count?.n, 4);
  shards.forEach((s) => s.close());
});

Deno.test("writer rejects the writes of a failed commit and stores none of them", async () => {
  const dir = await Deno.makeTempDir();
  const shards = openShards(dir, 1);
  const writer = new Writer(shards, { flushIntervalMs: 5, batchSize: 1000, maxBacklog: 10_000 });
  await writer.write([msg("kept", {})]);
  // Another connection holds the write lock past the busy timeout, so the commit fails.
  shards[0].db.exec("PRAGMA busy_timeout = 50");
  const other = new DatabaseSync(shardPath(dir, 0));
  other.exec("BEGIN IMMEDIATE");
  await assert.rejects(
    writer.write([msg("lost", {}), { ...msg("c", {}), topic: "customers" }]),
    /shard 0/,
  );
  other.exec("ROLLBACK");
  other.close();
  const keys = shards[0].db.prepare("SELECT key FROM orders UNION ALL SELECT key FROM customers")
    .all();
  assert.deepEqual(keys.map((r) => r.key), ["kept"]);
  assert.equal(shards[0].seq, 1);
  shards.forEach((s) => s.close());
});

Deno.test("readers see every shard's committed rows through one view per topic", async () => {
  const dir = await Deno.makeTempDir();
  const shards = openShards(dir, 4);
  const writer = new Writer(shards, { flushIntervalMs: 5, batchSize: 1000, maxBacklog: 10_000 });
  const readers = await Readers.open({
    dataDir: dir,
    shardCount: 4,
    topics: ["orders", "customers"],
    busyTimeoutMs: 1000,
  }, 2);
  try {
    await writer.write(Array.from({ length: 100 }, (_, i) => msg(`o${i}`, { amount: i })));
    const [row] = await readers.all(
      "SELECT count(*) AS n, sum(json_extract(payload, '$.amount')) AS total FROM orders",
    );
    assert.deepEqual({ ...row }, { n: 100, total: 4950 });
    const limited = await readers.query("SELECT key FROM orders", [], { maxRows: 10 });
    assert.equal(limited.rows.length, 10);
    assert.equal(limited.truncated, true);
    await assert.rejects(readers.all("SELECT * FROM ordrs"), /no such table: ordrs/);
    await assert.rejects(
      readers.all("DELETE FROM orders"),
      /readonly|read-only|query_only|cannot modify/i,
    );
  } finally {
    readers.close();
    shards.forEach((s) => s.close());
  }
});
