/**
 * Differential test of clock-bounded joins: random inserts, updates and deletes with
 * timestamps around the bounds, a clock moving in random steps, retention evictions and
 * restarts. After every step, what each delta join delivered (folded by key) must equal
 * its SQL over the topics at that now, and what the same join in full mode delivered.
 * Set SEED=<n> to replay a failure.
 */
import assert from "node:assert/strict";
import type { Message } from "../types.ts";
import { Harness, type HarnessJoin, SHARDS } from "./_joiner_harness.ts";
import { random } from "./_random.ts";

const T0 = Date.UTC(2026, 0, 1);
const SEC = 1000;
const TOPICS = ["customers", "orders"];

const JOINS: HarnessJoin[] = [
  {
    // The default pipeline's shape: a window of the last minute, in whole seconds.
    name: "recent",
    key: "order_id",
    sql: `SELECT o.key AS order_id, json_extract(o.payload, '$.amount') AS amount,
                 json_extract(c.payload, '$.name') AS customer
          FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
          WHERE o.timestamp > (strftime('%s', 'now') - 60) * 1000`,
  },
  {
    // Rows become results when the clock reaches them, and leave 45 s later; customers
    // count only while seen in the last 30 s (a bound in a LEFT JOIN's ON).
    name: "window",
    key: "order_id",
    sql: `SELECT o.key AS order_id, c.key AS customer
          FROM orders o
          LEFT JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
            AND c.timestamp >= unixepoch('now', 'subsec') * 1000 - 30000
          WHERE o.timestamp BETWEEN unixepoch('now', 'subsec') * 1000 - 45000
                                AND unixepoch('now', 'subsec') * 1000`,
  },
  {
    // A self-join whose bound is on the looked-up side, not the first.
    name: "fresh_parent",
    key: "order_id",
    sql: `SELECT o.key AS order_id, p.key AS parent
          FROM orders o JOIN orders p ON p.key = o.payload ->> '$.parent'
          WHERE p.timestamp > unixepoch('now') * 1000 - 20000`,
  },
  {
    // Bounds on payload fields (through their indexes): a text time compared as text,
    // an epoch in ms; some rows hold another type, or nothing, in the field.
    name: "seen",
    key: "order_id",
    sql: `SELECT o.key AS order_id, c.key AS customer
          FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
            AND json_extract(c.payload, '$.seen') >= datetime('now', '-30 seconds')
          WHERE o.payload ->> '$.at' <= unixepoch('now', 'subsec') * 1000`,
  },
  {
    // A GROUP BY over the last minute's orders: a row crossing the bound leaves its group.
    name: "recent_per_customer",
    key: "customer",
    sql: `SELECT json_extract(o.payload, '$.customer_id') AS customer, count(*) AS orders,
                 sum(json_extract(o.payload, '$.amount')) AS amount,
                 max(json_extract(c.payload, '$.name')) AS name
          FROM orders o LEFT JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
          WHERE o.timestamp > (strftime('%s', 'now') - 60) * 1000
          GROUP BY 1`,
  },
];

/** SQLite's datetime() text for `ms`. */
const datetime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

function message(r: ReturnType<typeof random>, now: number): Message {
  const timestamp = now - 90 * SEC + r.int(110 * SEC);
  if (r.next() < 0.1) {
    const topic = r.pick(TOPICS);
    const key = topic === "orders" ? `o${r.int(40)}` : `c${r.int(8)}`;
    return { topic, key, payload: {}, timestamp, _change: { op: "delete" } };
  }
  if (r.next() < 0.3) {
    const seen = r.next() < 0.8 ? datetime(timestamp) : r.next() < 0.5 ? timestamp : undefined;
    const payload = { name: `n${r.int(4)}`, seen };
    return { topic: "customers", key: `c${r.int(8)}`, payload, timestamp };
  }
  const payload = {
    customer_id: `c${r.int(9)}`,
    amount: r.int(100),
    ...(r.next() < 0.6 ? { parent: `o${r.int(40)}` } : {}),
    at: r.next() < 0.9 ? now - 60 * SEC + r.int(80 * SEC) : "soon",
  };
  return { topic: "orders", key: `o${r.int(40)}`, payload, timestamp };
}

Deno.test("clock-bounded deltas equal their SQL at that now and full mode, through expiry, evictions and restarts", async () => {
  const seed = Number(Deno.env.get("SEED") ?? Math.floor(Math.random() * 2 ** 31));
  const r = random(seed);
  const joins = JOINS.flatMap((j) => [j, { ...j, name: `${j.name}_full`, mode: "full" as const }]);
  const h = await Harness.open(TOPICS, joins, T0);
  const counts = { insert: 0, update: 0, delete: 0, evicted: 0, restarts: 0 };
  try {
    assert.deepEqual(h.tasks.map((t) => t.evaluator.mode), JOINS.map(() => "delta"));
    for (let step = 0; step < 160; step++) {
      const roll = r.next();
      if (roll < 0.5) {
        const batch = Array.from({ length: 1 + r.int(8) }, () => message(r, h.clock.now()));
        await h.writer.write(batch);
      } else if (roll < 0.8) {
        // Small steps cross one row at a time; large ones many at once.
        const ms = r.next() < 0.5 ? 1 + r.int(2 * SEC) : r.int(40 * SEC);
        await h.advanceTo(h.clock.now() + ms);
      } else if (roll < 0.92) {
        const cutoff = h.clock.now() - r.int(100 * SEC);
        for (let shard = 0; shard < SHARDS; shard++) {
          counts.evicted += await h.writer.expire(shard, r.pick(TOPICS), cutoff, 1000);
        }
      } else {
        // A restart, sometimes after a pause in which rows crossed unseen.
        await h.stop();
        if (r.next() < 0.5) h.clock.advance(r.int(60 * SEC));
        await h.start();
        counts.restarts++;
      }
      await h.joiner.drain();
      await h.evaluateFull();
      for (const join of JOINS) {
        const expected = Object.fromEntries(await h.expected(join.sql, join.key));
        const where = `step ${step} at T0+${h.clock.now() - T0} ms`;
        assert.deepEqual(
          Object.fromEntries(h.state(join.name)),
          expected,
          `${join.name}, ${where}`,
        );
        assert.deepEqual(
          Object.fromEntries(h.state(`${join.name}_full`)),
          expected,
          `${join.name}_full, ${where}`,
        );
      }
    }
    for (const join of JOINS) {
      const delivered = h.delivered.get(join.name)!;
      assert.ok(delivered.some((r) => r._change?.op === "delete"), `${join.name} deleted nothing`);
      for (const result of delivered) counts[result._change!.op]++;
    }
  } catch (error) {
    throw new Error(`seed ${seed} (replay with SEED=${seed}): ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await h.close();
  }
  // The run must have exercised every kind of change, evictions and restarts.
  assert.ok(
    counts.insert && counts.update && counts.delete && counts.evicted && counts.restarts,
    JSON.stringify(counts),
  );
});
