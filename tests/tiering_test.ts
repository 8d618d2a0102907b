import assert from "node:assert/strict";
import { startEngine, type TestEngine } from "./_helpers.ts";
import { type LocalS3, startS3 } from "./_s3.ts";
import { queryTiers, type Tier } from "../engine/tiers/query.ts";
import type { Message } from "../engine/types.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const TOPICS = `
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
  - { name: customers_in, type: http, path: /customers, topic: customers, key: id }
`;

/** Questions a user asks of the hot tier, asked again across the tiers. */
const QUESTIONS = [
  "SELECT count(*) AS n FROM orders",
  "SELECT count(*) AS n, sum(json_extract(payload, '$.amount')) AS amount, sum(json_extract(payload, '$.qty')) AS qty FROM orders",
  "SELECT json_extract(payload, '$.status') AS status, count(*) AS n, max(json_extract(payload, '$.amount')) AS top FROM orders GROUP BY 1 ORDER BY 1",
  "SELECT key, json_extract(payload, '$.amount') AS amount, json_extract(payload, '$.v') AS v FROM orders ORDER BY key LIMIT 7",
  "SELECT json_extract(c.payload, '$.name') AS name, count(*) AS orders, sum(json_extract(o.payload, '$.amount')) AS spent FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id') GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 5",
  `SELECT count(*) AS n FROM orders WHERE timestamp >= ${
    Date.UTC(2026, 0, 1, 0, 20)
  } AND timestamp < ${Date.UTC(2026, 0, 1, 0, 40)}`,
  "SELECT key, json_extract(payload, '$.paid') AS paid FROM orders WHERE key IN ('o-0', 'o-5', 'o-17', 'o-1999') ORDER BY key",
  "SELECT count(*) AS n FROM orders WHERE json_extract(payload, '$.note') IS NULL",
];

interface World {
  s3: LocalS3;
  tiered: TestEngine;
  /** The same messages, kept hot. */
  reference: TestEngine;
  clock: { now(): number };
  advance(ms: number): void;
  /** Posts to both engines at the same injected time. */
  post(path: string, body: unknown[]): Promise<void>;
  write(messages: Message[]): Promise<void>;
  answers(engine: TestEngine, tier: Tier, history?: boolean): Promise<unknown[]>;
  stop(): Promise<void>;
}

async function world(): Promise<World> {
  const s3 = await startS3();
  await s3.createBucket("lj-tiering");
  for (const [name, value] of Object.entries(s3.env)) Deno.env.set(name, value);
  let now = Date.UTC(2026, 0, 1);
  const clock = { now: () => now };
  const tiered = await startEngine(
    `engine: { data_dir: ./data, shard_count: 3, retention: 1h, retention_interval: 1h }
${TOPICS}
topics:
  - { name: customers, retention: 0 }
tiering:
  enabled: true
  partition: 10m
  warm_retention: 1d
  ${s3.coldYaml("lj-tiering", "archive/prod")}
`,
    { clock },
  );
  const reference = await startEngine(
    `engine: { data_dir: ./data, shard_count: 2, retention: 0 }\n${TOPICS}`,
    { clock },
  );
  const answers = async (engine: TestEngine, tier: Tier, history = false) => {
    const out = [];
    for (const sql of history ? ["SELECT _tier, key, _seq FROM orders"] : QUESTIONS) {
      const answer = await queryTiers(sql, { config: engine.engine.config, tier, history });
      out.push({ sql, columns: answer.columns, rows: answer.rows });
    }
    return out;
  };
  return {
    s3,
    tiered,
    reference,
    clock,
    advance: (ms) => now += ms,
    async post(path, body) {
      for (const engine of [tiered, reference]) {
        const response = await engine.post(path, body);
        assert.equal(response.status, 202, await response.text());
      }
    },
    async write(messages) {
      await tiered.engine.writer.write(messages);
      await reference.engine.writer.write(messages);
    },
    answers,
    async stop() {
      await tiered.stop();
      await reference.stop();
      await s3.stop();
    },
  };
}

const order = (i: number, extra: Record<string, unknown> = {}) => ({
  id: `o-${i}`,
  customer_id: `c-${i % 13}`,
  amount: (i % 40) + 0.25,
  qty: i % 5,
  status: ["open", "paid", "shipped"][i % 3],
  paid: i % 2 === 0,
  ...(i % 7 ? { note: `n${i}` } : {}),
  ...extra,
});

/** Every stored version of orders, as `key _seq`, and where each is. */
async function stored(engine: TestEngine) {
  const answer = await queryTiers("SELECT _tier, key, _seq FROM orders", {
    config: engine.engine.config,
    tier: "all",
    history: true,
  });
  const versions = answer.rows.map(([, key, seq]) => `${key} ${seq}`);
  const tiers: Record<string, number> = {};
  for (const [tier] of answer.rows) tiers[tier as string] = (tiers[tier as string] ?? 0) + 1;
  return { versions, distinct: new Set(versions).size, tiers };
}

Deno.test("rows move hot to warm to cold on the clock, every version in one tier, and queries across tiers answer like the same data held hot", async () => {
  const w = await world();
  try {
    await w.post(
      "/customers",
      Array.from({ length: 13 }, (_, i) => ({ id: `c-${i}`, name: `Customer ${i}` })),
    );
    // 2000 orders over the first hour, a batch a minute
    for (let minute = 0; minute < 60; minute++) {
      const first = Math.floor(minute * 2000 / 60);
      const last = Math.floor((minute + 1) * 2000 / 60);
      await w.post("/orders", Array.from({ length: last - first }, (_, j) => order(first + j)));
      w.advance(MINUTE);
    }
    assert.deepEqual(await stored(w.tiered).then((s) => s.tiers), { hot: 2000 });

    // 1h40m later: the partitions of the first 40 minutes have wholly expired
    w.advance(40 * MINUTE);
    const first = await w.tiered.engine.tiering!.run();
    assert.deepEqual(first.compacted.map((c) => c.file.path.split("/")[1]), [
      "orders-20260101T000000Z-10m.parquet",
      "orders-20260101T001000Z-10m.parquet",
      "orders-20260101T002000Z-10m.parquet",
      "orders-20260101T003000Z-10m.parquet",
    ]);
    let now = await stored(w.tiered);
    assert.deepEqual(now.tiers, { hot: 2000 - 1333, warm: 1333 });
    assert.equal(now.distinct, 2000);

    // keys updated after their first version went warm, and keys deleted from every tier
    await w.post("/orders", [
      order(5, { amount: 1000.25, v: 2 }),
      order(17, { v: 2 }),
      order(1990, { v: 2 }),
    ]);
    await w.write([0, 1, 2, 1999].map((i) => ({
      topic: "orders",
      key: `o-${i}`,
      payload: {},
      timestamp: w.clock.now(),
      _change: { op: "delete" as const },
    })));
    assert.deepEqual(await w.answers(w.tiered, "all"), await w.answers(w.reference, "hot"));

    // a day on: every partition has expired; the first five are past warm_retention too
    w.advance(DAY + 10 * MINUTE);
    const second = await w.tiered.engine.tiering!.run();
    assert.ok(second.compacted.length >= 3);
    assert.deepEqual(second.uploaded.map((u) => u.file.path.split("/")[1]), [
      "orders-20260101T000000Z-10m.parquet",
      "orders-20260101T001000Z-10m.parquet",
      "orders-20260101T002000Z-10m.parquet",
      "orders-20260101T003000Z-10m.parquet",
      "orders-20260101T004000Z-10m.parquet",
    ]);
    now = await stored(w.tiered);
    assert.equal(now.tiers.hot, undefined);
    assert.ok(now.tiers.warm > 0 && now.tiers.cold > 0, JSON.stringify(now.tiers));
    // 2000 orders, 2 updates of warm keys (o-1990 was replaced while hot), 4 deletes
    // (o-1999's hot row went, 4 tombstones came): each version stored exactly once
    assert.equal(now.versions.length, 2005);
    assert.equal(now.distinct, 2005);
    assert.deepEqual(await w.answers(w.tiered, "all"), await w.answers(w.reference, "hot"));

    // a day later still: all of it cold, and new data hot again
    w.advance(DAY);
    await w.tiered.engine.tiering!.run();
    await w.post("/orders", [order(5000), order(5001), order(17, { v: 3 })]);
    now = await stored(w.tiered);
    assert.deepEqual(now.tiers, { cold: 2005, hot: 3 });
    assert.deepEqual(await w.answers(w.tiered, "all"), await w.answers(w.reference, "hot"));
    const cold = await queryTiers("SELECT count(*) AS n FROM orders", {
      config: w.tiered.engine.config,
      tier: "cold",
    });
    assert.deepEqual(cold.rows, [[2000 - 4]]);
    const hot = await queryTiers("SELECT count(*) AS n FROM orders", {
      config: w.tiered.engine.config,
      tier: "hot",
    });
    assert.deepEqual(hot.rows, [[3]]);
  } finally {
    await w.stop();
  }
});
