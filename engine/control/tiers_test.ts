import assert from "node:assert/strict";
import { ControlClient, RemoteError } from "./client.ts";
import { startEngine } from "../../tests/_helpers.ts";

Deno.test("the control socket answers SQL from the warm tier for the console", async () => {
  let now = Date.UTC(2026, 0, 1);
  const t = await startEngine(
    `engine: { data_dir: ./data, shard_count: 2, retention: 1h, retention_interval: 1h }
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
tiering: { enabled: true, partition: 10m }
`,
    { clock: { now: () => now } },
  );
  const client = await ControlClient.connect(t.engine.config.engine.socket!);
  try {
    const response = await t.post("/in", [{ id: "a", amount: 2.5 }, { id: "b", amount: 4 }]);
    assert.equal(response.status, 202);
    now += 2 * 3_600_000;
    await t.post("/in", [{ id: "c", amount: 1 }]);
    await t.engine.tiering!.run();
    const sql = "SELECT count(*) AS n, sum(json_extract(payload, '$.amount')) AS total FROM orders";
    assert.deepEqual(await client.request("tiers.query", { sql, tier: "warm" }), {
      columns: ["n", "total"],
      rows: [[2, 6.5]],
      truncated: false,
    });
    assert.deepEqual(
      (await client.request<{ rows: unknown[][] }>("tiers.query", { sql, tier: "hot" })).rows,
      [[1, 1]],
    );
    const all = await client.request<{ rows: unknown[][]; truncated: boolean }>("tiers.query", {
      sql: "SELECT key FROM orders ORDER BY key",
      max_rows: 2,
    });
    assert.deepEqual(all, { columns: ["key"], rows: [["a"], ["b"]], truncated: true });
    await assert.rejects(
      client.request("tiers.query", { sql: "SELECT nope FROM orders", tier: "warm" }),
      (e: Error) =>
        e instanceof RemoteError && /Referenced column "nope" not found/.test(e.message),
    );
    await assert.rejects(
      client.request("tiers.query", { sql: "SELECT 1", tier: "tepid" }),
      /params\.tier must be one of hot, warm, cold, all/,
    );
  } finally {
    client.close();
    await t.stop();
  }
});
