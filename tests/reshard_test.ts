import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { cli, type Receiver, startEngine, startReceiver, waitFor } from "./_helpers.ts";
import { Shard, shardPath } from "../engine/store/shard.ts";
import { shardOf } from "../engine/store/fnv.ts";
import { LayoutError } from "../engine/mod.ts";

const yaml = (shards: number, hook: string) => `
engine: { data_dir: ./data, shard_count: ${shards} }
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
  - { name: customers_in, type: http, path: /customers, topic: customers, key: id }
joins:
  - name: enriched
    key: order_id
    sql: |
      SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS customer
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
    sinks: [hook]
sinks:
  - { name: hook, type: http, url: "${hook}" }
`;

type Snapshot = Map<string, string>;

/** Every row of every topic across the shards, as "topic/key" → its stored fields. */
function snapshot(dataDir: string, shards: number): Snapshot {
  const out: Snapshot = new Map();
  for (let i = 0; i < shards; i++) {
    const db = new DatabaseSync(shardPath(dataDir, i), { readOnly: true });
    for (const topic of ["orders", "customers"]) {
      for (const r of db.prepare(`SELECT key, payload, timestamp, _change FROM "${topic}"`).all()) {
        const key = String(r.key);
        assert.equal(shardOf(key, shards), i, `${topic}/${key} sits in shard ${i} of ${shards}`);
        out.set(`${topic}/${key}`, JSON.stringify([r.payload, r.timestamp, r._change]));
      }
    }
    db.close();
  }
  return out;
}

async function setShards(dir: string, shards: number, receiver: Receiver) {
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    `http: { listen: "127.0.0.1:0" }\n${yaml(shards, receiver.url)}`,
  );
}

Deno.test("litejoin reshard goes from 4 to 8 shards and back keeping every row, and joins neither repeat nor skip", async () => {
  const receiver = await startReceiver();
  const first = await startEngine(yaml(4, receiver.url));
  const dir = first.dir;
  const data = `${dir}/data`;
  await first.post(
    "/customers",
    Array.from({ length: 50 }, (_, i) => ({ id: `c${i}`, name: `name ${i}` })),
  );
  await first.post(
    "/orders",
    Array.from({ length: 1500 }, (_, i) => ({ id: `o${i}`, customer_id: `c${i % 50}` })),
  );
  await first.engine.writer.write([{
    topic: "orders",
    key: "o-changed",
    payload: { id: "o-changed", customer_id: "c1" },
    timestamp: 42,
    _change: { op: "update", fields: ["customer_id"] },
  }]);
  await waitFor(
    "every order joined",
    () => new Set(receiver.results().map((r) => r.key)).size === 1501,
  );
  await first.stop();
  // Committed but never evaluated by the join (as after a crash): must stay pending.
  const shards = [0, 1, 2, 3].map((i) => new Shard(i, shardPath(data, i), ["orders", "customers"]));
  shards[shardOf("o-pending", 4)].apply([[
    "orders",
    "o-pending",
    '{"id":"o-pending","customer_id":"c2"}',
    7,
    null,
  ]]);
  shards.forEach((s) => s.close());
  const before = snapshot(data, 4);
  const delivered = receiver.results().length;

  const up = await cli(["reshard", "--to", "8", "-c", `${dir}/litejoin.yaml`]);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stdout, /resharded .* from 4 to 8 shard\(s\): customers 50, orders 1502/);
  assert.match(up.stdout, /next: set engine.shard_count: 8/);
  assert.deepEqual(snapshot(data, 8), before);

  await setShards(dir, 8, receiver);
  const second = await startEngine(yaml(8, receiver.url), { dir });
  // Start-up recovery has run: only the pending order was evaluated.
  assert.deepEqual(receiver.results().slice(delivered).map((r) => r.key), ["o-pending"]);
  await second.post("/orders", { id: "o-new", customer_id: "c3" });
  await waitFor("o-new", () => receiver.results().some((r) => r.key === "o-new"));
  await second.stop();

  const after8 = snapshot(data, 8);
  const down = await cli(["reshard", "--to", "4", "-c", `${dir}/litejoin.yaml`]);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(snapshot(data, 4), after8);
  await setShards(dir, 4, receiver);
  const third = await startEngine(yaml(4, receiver.url), { dir });
  assert.equal(
    receiver.results().length,
    delivered + 2,
    "nothing is evaluated twice after resharding back",
  );
  await third.stop();
  await receiver.stop();
});

Deno.test("a reshard killed between moving the old shards out and the new ones in is finished by running it again", async () => {
  const receiver = await startReceiver();
  const t = await startEngine(yaml(2, receiver.url));
  await t.post(
    "/orders",
    Array.from({ length: 300 }, (_, i) => ({ id: `o${i}`, customer_id: "x" })),
  );
  await t.stop();
  const data = `${t.dir}/data`;
  const before = snapshot(data, 2);

  const killed = await cli(["reshard", "--to", "3", "-c", `${t.dir}/litejoin.yaml`], {
    env: { LITEJOIN_CRASH_AT: "reshard:old-moved" },
  });
  assert.equal(killed.code, 137, "killed at the crash point by SIGKILL");
  await assert.rejects(
    startEngine(yaml(2, receiver.url), { dir: t.dir }),
    (e) =>
      e instanceof LayoutError &&
      /reshard of .* from 2 to 3 shards was interrupted; finish it with litejoin reshard --to 3/
        .test(e.message),
  );

  const again = await cli(["reshard", "--to", "3", "-c", `${t.dir}/litejoin.yaml`]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(snapshot(data, 3), before);
  const restarted = await startEngine(yaml(3, receiver.url), { dir: t.dir });
  await restarted.stop();
  await receiver.stop();
});

Deno.test("litejoin reshard refuses while an engine runs on the data directory, exit 3", async () => {
  const receiver = await startReceiver();
  const t = await startEngine(yaml(2, receiver.url));
  try {
    const out = await cli(["reshard", "--to", "4", "-c", `${t.dir}/litejoin.yaml`]);
    assert.equal(out.code, 3);
    assert.match(out.stderr, /is in use by another litejoin process/);
  } finally {
    await t.stop();
    await receiver.stop();
  }
});
