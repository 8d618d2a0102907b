import assert from "node:assert/strict";
import { cli, startEngine } from "./_helpers.ts";
import { parseConfig } from "../engine/mod.ts";
import { queryTiers } from "../engine/tiers/query.ts";

Deno.test("litejoin reshard carries tiering's tombstones, so deleted keys stay deleted across tiers", async () => {
  let now = Date.UTC(2026, 0, 1);
  const yaml = `engine: { data_dir: ./data, shard_count: 2, retention: 1h, retention_interval: 1h }
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
tiering: { enabled: true, partition: 10m }
`;
  const t = await startEngine(yaml, { clock: { now: () => now } });
  const ask = async (config = t.engine.config) =>
    (await queryTiers("SELECT key FROM orders ORDER BY key", { config, tier: "all" })).rows.flat();
  try {
    const response = await t.post("/in", Array.from({ length: 20 }, (_, i) => ({ id: `k${i}` })));
    assert.equal(response.status, 202);
    now += 2 * 3_600_000;
    await t.engine.tiering!.run(); // all 20 warm
    await t.engine.writer.write(["k3", "k7", "k11"].map((key) => ({
      topic: "orders",
      key,
      payload: {},
      timestamp: now,
      _change: { op: "delete" as const },
    })));
    assert.equal((await ask()).length, 17);
  } finally {
    await t.stop();
  }
  const reshard = await cli(["reshard", "--to", "3", "-c", `${t.dir}/litejoin.yaml`]);
  assert.equal(reshard.code, 0, reshard.stderr);
  const text = `http: { listen: "127.0.0.1:0" }\n${
    yaml.replace("shard_count: 2", "shard_count: 3")
  }`;
  await Deno.writeTextFile(`${t.dir}/litejoin.yaml`, text);
  const config = parseConfig(text, `${t.dir}/litejoin.yaml`);
  const keys = await ask(config);
  assert.equal(keys.length, 17);
  assert.ok(!keys.includes("k3") && !keys.includes("k7") && !keys.includes("k11"));
});
