import assert from "node:assert/strict";
import { type Row, Shard, TOMBSTONES } from "./shard.ts";

function openShard(opts: { tombstones?: boolean } = {}): Shard {
  return new Shard(0, `${Deno.makeTempDirSync()}/shard_0.db`, ["orders", "customers"], opts);
}

const upsert = (topic: string, key: string, payload: object, timestamp = 1000): Row => [
  topic,
  key,
  JSON.stringify(payload),
  timestamp,
  null,
];
const remove = (topic: string, key: string, timestamp = 1000): Row => [
  topic,
  key,
  null,
  timestamp,
  JSON.stringify({ op: "delete" }),
];

Deno.test("a batch keeps the order of its rows across topics, writes and deletes", () => {
  const shard = openShard({ tombstones: true });
  try {
    const seq = shard.apply([
      upsert("orders", "a", { v: 1 }),
      upsert("orders", "b", { v: 1 }),
      upsert("customers", "a", { v: 1 }),
      remove("orders", "a", 2000),
      upsert("orders", "a", { v: 2 }, 3000),
      upsert("orders", "b", { v: 2 }),
      upsert("orders", "b", { v: 3 }),
      remove("orders", "c"),
    ]);
    assert.equal(seq, 8);
    assert.deepEqual(
      shard.db.prepare("SELECT key, payload, timestamp, _seq FROM orders ORDER BY key").all()
        .map((r) => ({ ...r })),
      [
        { key: "a", payload: '{"v":2}', timestamp: 3000, _seq: 5 },
        { key: "b", payload: '{"v":3}', timestamp: 1000, _seq: 7 },
      ],
    );
    assert.deepEqual(
      shard.db.prepare(`SELECT topic, key, timestamp, _seq FROM ${TOMBSTONES} ORDER BY key`).all()
        .map((r) => ({ ...r })),
      [
        { topic: "orders", key: "a", timestamp: 2000, _seq: 4 },
        { topic: "orders", key: "c", timestamp: 1000, _seq: 8 },
      ],
    );
    // Rows stored: a and b in orders, a in customers; every row counts as written.
    assert.deepEqual(shard.counts.get("orders"), { rows: 2, written: 7 });
    assert.deepEqual(shard.counts.get("customers"), { rows: 1, written: 1 });

    shard.apply([remove("orders", "b"), remove("orders", "b"), upsert("orders", "a", { v: 3 })]);
    assert.deepEqual(shard.counts.get("orders"), { rows: 1, written: 10 });
    const { n } = shard.db.prepare("SELECT count(*) AS n FROM orders").get() as { n: number };
    assert.equal(n, 1);
  } finally {
    shard.close();
  }
});

Deno.test("a key with a lone surrogate is stored as a bound parameter would store it", () => {
  const shard = openShard();
  try {
    const key = "k\ud800";
    shard.apply([upsert("orders", key, { v: 1 }), upsert("orders", "é😀", { v: 1 })]);
    // Bound parameters reach SQLite as UTF-8 with U+FFFD for the lone surrogate.
    const found = shard.db.prepare("SELECT hex(key) AS h FROM orders WHERE key = ?").get(key);
    assert.equal(found?.h, "6BEFBFBD");
    assert.ok(shard.db.prepare("SELECT 1 FROM orders WHERE key = ?").get("é😀"));
    shard.apply([remove("orders", key)]);
    assert.deepEqual(shard.counts.get("orders"), { rows: 1, written: 3 });
    assert.equal(shard.db.prepare("SELECT 1 FROM orders WHERE key = ?").get(key), undefined);
  } finally {
    shard.close();
  }
});

Deno.test("a batch that fails writes none of its rows", () => {
  const shard = openShard();
  try {
    shard.apply([upsert("orders", "a", { v: 1 })]);
    assert.throws(
      () => shard.apply([upsert("orders", "b", { v: 1 }), upsert("nope", "c", { v: 1 })]),
      /unknown topic "nope"/,
    );
    assert.equal(shard.seq, 1);
    assert.deepEqual(shard.counts.get("orders"), { rows: 1, written: 1 });
    const { n } = shard.db.prepare("SELECT count(*) AS n FROM orders").get() as { n: number };
    assert.equal(n, 1);
  } finally {
    shard.close();
  }
});
