/**
 * Micro-costs on hot paths, each group against a baseline (`deno bench bench/`).
 * Run by `deno task bench`, which adds them to the report.
 */
import { DatabaseSync } from "node:sqlite";
import { fnv1a32 } from "../engine/store/fnv.ts";
import { type Row, Shard } from "../engine/store/shard.ts";
import { hashString } from "../engine/hash.ts";
import { Counter } from "../engine/metrics.ts";

const keys = Array.from({ length: 1000 }, (_, i) => `order-${i}-${"x".repeat(i % 16)}`);

Deno.bench(
  "TextEncoder + FNV-1a loop (1,000 keys)",
  { group: "shard routing", baseline: true },
  () => {
    const encoder = new TextEncoder();
    for (const key of keys) {
      let hash = 0x811c9dc5;
      for (const byte of encoder.encode(key)) hash = Math.imul(hash ^ byte, 0x01000193);
    }
  },
);

Deno.bench("fnv1a32 (1,000 keys)", { group: "shard routing" }, () => {
  for (const key of keys) fnv1a32(key);
});

const dir = Deno.makeTempDirSync({ prefix: "litejoin-micro-" });
const payload = JSON.stringify({
  id: "o",
  customer_id: "c-1",
  amount: 42,
  note: "a typical order",
});
const raw = new DatabaseSync(`${dir}/raw.db`);
raw.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
  CREATE TABLE orders (key TEXT PRIMARY KEY, payload TEXT NOT NULL, timestamp INTEGER NOT NULL);
  CREATE INDEX orders_timestamp ON orders(timestamp);`);
const upsert = raw.prepare(
  "INSERT OR REPLACE INTO orders (key, payload, timestamp) VALUES (?, ?, ?)",
);
const shard = new Shard(0, `${dir}/shard_0.db`, ["orders"]);
const rows: Row[] = keys.map((key) => ["orders", key, payload, 1, null]);

Deno.bench(
  "node:sqlite upsert, 1,000 rows in one transaction",
  { group: "commit", baseline: true },
  () => {
    raw.exec("BEGIN");
    for (const key of keys) upsert.run(key, payload, 1);
    raw.exec("COMMIT");
  },
);

Deno.bench("Shard.apply, 1,000 rows (with _seq and _change)", { group: "commit" }, () => {
  shard.apply(rows);
});

const result = { order_id: "o-1", amount: 42, customer: "Ada Lovelace", tier: "gold" };

Deno.bench("JSON.stringify of a result row", { group: "change detection", baseline: true }, () => {
  JSON.stringify(result);
});

Deno.bench("hashString(JSON.stringify(row))", { group: "change detection" }, () => {
  hashString(JSON.stringify(result));
});

const counter = new Counter("bench_total", "bench");
const bound = counter.bind({ source: "orders_in", code: "202" });

Deno.bench("bound counter increment", { group: "metrics", baseline: true }, () => {
  bound.inc();
});

Deno.bench("labelled counter increment", { group: "metrics" }, () => {
  counter.inc({ source: "orders_in", code: "202" });
});
