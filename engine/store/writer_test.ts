import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { shardPath } from "./shard.ts";
import { BacklogError, type CommittedBatch, Writer, type WriterOptions } from "./writer.ts";
import { Readers } from "./readers.ts";
import { shardOf } from "./fnv.ts";
import type { Message } from "../types.ts";

const TOPICS = ["orders", "customers"];

async function openWriter(opts: Partial<WriterOptions> = {}) {
  const dataDir = opts.dataDir ?? await Deno.makeTempDir();
  const writer = await Writer.open({
    dataDir,
    shardCount: 4,
    topics: TOPICS,
    flushIntervalMs: 5,
    batchSize: 1000,
    maxBacklog: 10_000,
    ...opts,
  });
  return { writer, dataDir };
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

function rows(dataDir: string, shard: number, sql: string, ...params: string[]) {
  const db = new DatabaseSync(shardPath(dataDir, shard), { readOnly: true });
  try {
    return db.prepare(sql).all(...params);
  } finally {
    db.close();
  }
}

Deno.test("writer stores each key in the shard its FNV hash picks", async () => {
  const { writer, dataDir } = await openWriter();
  const keys = Array.from({ length: 200 }, (_, i) => `order-${i}`);
  await writer.write(keys.map((k) => msg(k, { id: k })));
  for (const key of keys) {
    const holders = [0, 1, 2, 3].filter((s) =>
      rows(dataDir, s, "SELECT 1 FROM orders WHERE key = ?", key).length
    );
    assert.deepEqual(holders, [shardOf(key, 4)], key);
  }
  await writer.close();
});

Deno.test("writer upserts: the latest message for a key wins, within and across batches", async () => {
  const { writer, dataDir } = await openWriter({ shardCount: 2 });
  await writer.write([msg("a", { v: 1 }), msg("a", { v: 2 }, "orders", 2000)]);
  await writer.write([msg("a", { v: 3 }, "orders", 3000)]);
  const found = rows(dataDir, shardOf("a", 2), "SELECT payload, timestamp FROM orders");
  assert.deepEqual(found.map((r) => [JSON.parse(String(r.payload)).v, r.timestamp]), [[3, 3000]]);
  await writer.close();
});

Deno.test("writer deletes a key on a delete change", async () => {
  const { writer, dataDir } = await openWriter({ shardCount: 1 });
  await writer.write([msg("a", { v: 1 }), msg("b", { v: 1 })]);
  await writer.write([{ ...msg("a", {}), _change: { op: "delete" } }]);
  assert.deepEqual(rows(dataDir, 0, "SELECT key FROM orders").map((r) => r.key), ["b"]);
  await writer.close();
});

Deno.test("writer groups writes that arrive while a commit runs into the next commit", async () => {
  const { writer } = await openWriter({ shardCount: 1 });
  const batches: CommittedBatch[] = [];
  writer.onCommit((b) => batches.push(b));
  await Promise.all(Array.from({ length: 50 }, (_, i) => writer.write([msg(`k${i}`, { i })])));
  assert.ok(batches.length < 50, `50 writes took ${batches.length} commits`);
  assert.equal(batches.reduce((n, b) => n + b.messages.length, 0), 50);
  assert.equal(batches.at(-1)!.seq, 50);
  assert.deepEqual(writer.seqs(), [50]);
  await writer.close();
});

Deno.test("writer continues the shard's seq across restarts", async () => {
  const { writer, dataDir } = await openWriter({ shardCount: 1 });
  await writer.write([msg("a", {}), msg("b", {})]);
  await writer.close();
  const again = await openWriter({ shardCount: 1, dataDir });
  assert.deepEqual(again.writer.seqs(), [2]);
  await again.writer.write([msg("c", {})]);
  assert.deepEqual(
    rows(dataDir, 0, "SELECT key, _seq FROM orders ORDER BY _seq").map((r) => [r.key, r._seq]),
    [
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ],
  );
  await again.writer.close();
});

Deno.test("writer refuses writes past the backlog and queues none of them", async () => {
  const { writer, dataDir } = await openWriter({ shardCount: 1, maxBacklog: 5 });
  const first = writer.write(Array.from({ length: 4 }, (_, i) => msg(`k${i}`, {})));
  await assert.rejects(writer.write([msg("x", {}), msg("y", {})]), BacklogError);
  await first;
  assert.equal(rows(dataDir, 0, "SELECT count(*) AS n FROM orders")[0].n, 4);
  await writer.close();
});

Deno.test("writer rejects the writes of a failed commit and stores none of them", async () => {
  const { writer, dataDir } = await openWriter({ shardCount: 1, busyTimeoutMs: 50 });
  await writer.write([msg("kept", {})]);
  // Another connection holds the write lock past the busy timeout, so the commit fails.
  const other = new DatabaseSync(shardPath(dataDir, 0));
  other.exec("BEGIN IMMEDIATE");
  await assert.rejects(
    writer.write([msg("lost", {}), { ...msg("c", {}), topic: "customers" }]),
    /shard 0/,
  );
  other.exec("ROLLBACK");
  other.close();
  const keys = rows(dataDir, 0, "SELECT key FROM orders UNION ALL SELECT key FROM customers");
  assert.deepEqual(keys.map((r) => r.key), ["kept"]);
  assert.deepEqual(writer.seqs(), [1]);
  await writer.write([msg("after", {})]);
  assert.deepEqual(writer.seqs(), [2]);
  await writer.close();
});

Deno.test("a shard whose commits fail on a full file is listed until its own probe commits again", async () => {
  const { writer } = await openWriter({ shardCount: 1, probeIntervalMs: 20 });
  await writer.write([msg("before", {})]);
  assert.deepEqual(writer.failures(), []);
  await writer.capSize(true);
  const big = { pad: "x".repeat(200_000) };
  await assert.rejects(writer.write([msg("big", big)]), /database or disk is full/);
  assert.deepEqual(writer.failures(), [{ shard: 0, error: "database or disk is full" }]);
  // Probes keep failing while the file is full: still listed, with no input at all.
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(writer.failures().length, 1);
  await writer.capSize(false);
  while (writer.failures().length) await new Promise((resolve) => setTimeout(resolve, 10));
  await writer.write([msg("after", big)]);
  assert.deepEqual(writer.failures(), []);
  await writer.close();
});

Deno.test("writer expires rows older than a cutoff, in chunks", async () => {
  const { writer, dataDir } = await openWriter({ shardCount: 1 });
  await writer.write(Array.from({ length: 10 }, (_, i) => msg(`k${i}`, {}, "orders", i)));
  assert.equal(await writer.expire(0, "orders", 7, 4), 4);
  assert.equal(await writer.expire(0, "orders", 7, 4), 3);
  assert.deepEqual(rows(dataDir, 0, "SELECT key FROM orders ORDER BY key").map((r) => r.key), [
    "k7",
    "k8",
    "k9",
  ]);
  await writer.close();
});

Deno.test("readers see every shard's committed rows through one view per topic", async () => {
  const { writer, dataDir } = await openWriter();
  const readers = await Readers.open({
    dataDir,
    shardCount: 4,
    topics: TOPICS,
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
    await writer.close();
  }
});

Deno.test("writer keeps exact row counts per topic through inserts, updates, deletes and expiry, and recounts on reopen", async () => {
  const { writer, dataDir } = await openWriter({ shardCount: 3 });
  const counts = () =>
    Object.fromEntries([...writer.topicCounts()].map(([t, c]) => [t, [c.rows, c.written]]));
  assert.deepEqual(counts(), { orders: [0, 0], customers: [0, 0] });
  await writer.write(Array.from({ length: 50 }, (_, i) => msg(`o-${i}`, { n: i }, "orders", i)));
  await writer.write([msg("c-1", { n: 1 }, "customers")]);
  // 10 updates of existing keys, 5 new keys, 3 deletes of existing keys, 1 delete of a missing key
  await writer.write([
    ...Array.from({ length: 10 }, (_, i) => msg(`o-${i}`, { n: -i }, "orders", 100)),
    ...Array.from({ length: 5 }, (_, i) => msg(`o-new-${i}`, {}, "orders", 100)),
    ...["o-40", "o-41", "o-42", "o-missing"].map((k) => ({
      ...msg(k, {}, "orders", 100),
      _change: { op: "delete" as const },
    })),
  ]);
  assert.deepEqual(counts(), { orders: [52, 69], customers: [1, 1] });
  // o-10 … o-39 and o-43 … o-49 still have timestamps below 50: expire those below 20
  let expired = 0;
  for (let shard = 0; shard < 3; shard++) expired += await writer.expire(shard, "orders", 20, 100);
  assert.equal(expired, 10);
  assert.deepEqual(counts(), { orders: [42, 69], customers: [1, 1] });
  let stored = 0;
  for (let s = 0; s < 3; s++) stored += rows(dataDir, s, "SELECT key FROM orders").length;
  assert.equal(stored, 42);
  await writer.close();

  const { writer: reopened } = await openWriter({ dataDir, shardCount: 3 });
  assert.equal(reopened.topicCounts().get("orders")!.rows, 42);
  assert.equal(reopened.topicCounts().get("orders")!.written, 0);
  await reopened.close();
});

Deno.test("writer barrier resolves once everything queued before it is committed and seen by listeners", async () => {
  const { writer } = await openWriter({ shardCount: 2, flushIntervalMs: 50 });
  const seen: string[] = [];
  writer.onCommit((b) => b.messages.forEach((m) => seen.push(m.key)));
  const before = Array.from({ length: 20 }, (_, i) => writer.write([msg(`b${i}`, {})]));
  const barrier = writer.barrier();
  const after = writer.write([msg("later", {})]);
  await barrier;
  assert.deepEqual(seen.filter((k) => k.startsWith("b")).length, 20);
  await Promise.all([...before, after]);
  await writer.barrier(); // nothing queued: resolves at once
  await writer.close();
});

Deno.test("writer's row counts follow tiering's evictions, by version and by exported range", async () => {
  const { writer, dataDir } = await openWriter({ shardCount: 1 });
  await writer.write(Array.from({ length: 10 }, (_, i) => msg(`o-${i}`, { n: i }, "orders", i)));
  const [row] = rows(dataDir, 0, "SELECT _seq FROM orders WHERE key = 'o-0'") as { _seq: number }[];
  assert.equal(
    await writer.evict(0, "orders", { keys: ["o-0"], seqs: [row._seq], timestamps: [0] }),
    1,
  );
  assert.equal(writer.topicCounts().get("orders")!.rows, 9);
  const evicted = await writer.evictExported(
    0,
    "orders",
    { from: 0, to: 5, upTo: writer.seqs()[0] },
    100,
  );
  assert.equal(evicted, 4);
  assert.equal(writer.topicCounts().get("orders")!.rows, 5);
  assert.equal(rows(dataDir, 0, "SELECT key FROM orders").length, 5);
  await writer.close();
});

Deno.test("every eviction that removes rows takes a seq and tells the eviction listeners its keys", async () => {
  const { writer } = await openWriter({ shardCount: 1 });
  const heard: string[] = [];
  writer.onEvict((e) => heard.push(`${e.seq}:${e.topic}:${[...e.keys].sort().join(",")}`));
  await writer.write(Array.from({ length: 6 }, (_, i) => msg(`o-${i}`, { n: i }, "orders", i)));
  assert.deepEqual(writer.seqs(), [6]);
  assert.equal(await writer.expire(0, "orders", 2, 100), 2); // o-0, o-1
  assert.equal(await writer.expire(0, "orders", 2, 100), 0); // nothing left: no seq taken
  assert.equal(
    await writer.evict(0, "orders", { keys: ["o-2", "o-9"], seqs: [3, 1], timestamps: [2, 0] }),
    1,
  );
  await writer.evictExported(0, "orders", { from: 3, to: 5, upTo: 6 }, 100); // o-3, o-4
  assert.deepEqual(heard, ["7:orders:o-0,o-1", "8:orders:o-2", "9:orders:o-3,o-4"]);
  assert.deepEqual(writer.seqs(), [9]);
  // Writes go on after the seqs evictions took.
  await writer.write([msg("o-7", {}, "orders", 7)]);
  assert.deepEqual(writer.seqs(), [10]);
  await writer.close();
});
