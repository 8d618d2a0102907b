import assert from "node:assert/strict";
import { startEngine } from "../../tests/_helpers.ts";
import { ControlClient, RemoteError } from "./client.ts";
import type { TailResult } from "./protocol.ts";

Deno.test("tail gives a topic's newest messages across shards, newest first, up to the limit", async () => {
  const clock = { t: 1_000_000, now: () => clock.t };
  const t = await startEngine(
    `engine: { data_dir: ./data, shard_count: 3 }
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
`,
    { clock },
  );
  const client = await ControlClient.connect(t.engine.config.engine.socket!);
  try {
    for (let i = 0; i < 12; i++) {
      clock.t += 1000;
      await t.post("/in", { id: `o-${i}`, n: i });
    }
    clock.t += 1000;
    await t.post("/in", { id: "o-3", n: 33 }); // an update makes o-3 the newest
    const result = await client.request<TailResult>("tail", { topic: "orders", limit: 4 });
    assert.equal(result.rows, 12);
    assert.deepEqual(result.messages.map((m) => m.key), ["o-3", "o-11", "o-10", "o-9"]);
    assert.deepEqual(JSON.parse(result.messages[0].payload), { id: "o-3", n: 33 });
    assert.equal(result.messages[0].timestamp, clock.t);
    assert.ok(new Set(result.messages.map((m) => m.shard)).size > 1, "from several shards");
    clock.t += 1000;
    await t.post("/in", { id: "big", text: "x".repeat(100_000) });
    const [big] =
      (await client.request<TailResult>("tail", { topic: "orders", limit: 1 })).messages;
    assert.equal(big.key, "big");
    const stored = JSON.stringify({ id: "big", text: "x".repeat(100_000) });
    assert.equal(big.payload, `${stored.slice(0, 16 * 1024)}… (${stored.length} characters)`);
    await assert.rejects(
      client.request("tail", { topic: "ordrs" }),
      (e) =>
        e instanceof RemoteError && e.code === "not_found" &&
        e.message === 'no topic named "ordrs" (topics: orders)',
    );
  } finally {
    client.close();
    await t.stop();
  }
});
