import assert from "node:assert/strict";
import { startEngine, waitFor } from "../tests/_helpers.ts";
import { EngineLink } from "./link.ts";
import { NoEngineError } from "../engine/mod.ts";

const YAML = `engine: { data_dir: ./data, shard_count: 1 }
control: { stats_interval: 100ms }
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
`;

Deno.test("the engine link follows pushed stats, reports the engine down, and reconnects when it is back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-link-" });
  let t = await startEngine(YAML, { dir });
  const link = new EngineLink(t.engine.config.engine.socket!);
  try {
    await waitFor("connected", () => link.state().connection === "connected");
    assert.deepEqual(link.state().info?.topics, ["orders"]);
    assert.ok(link.state().methods.includes("sql"));
    assert.ok(link.state().methods.includes("dlq.stats"));
    await t.post("/in", { id: "a" });
    await waitFor("a pushed update", () => link.state().stats?.topics[0].rows === 1);

    await t.stop();
    await waitFor("down", () => link.state().connection === "down");
    await assert.rejects(link.request("stats"), NoEngineError);

    t = await startEngine(YAML, { dir });
    await waitFor("connected again", () => link.state().connection === "connected");
    await t.post("/in", { id: "b" });
    await waitFor("updates again", () => link.state().stats?.topics[0].rows === 2);
    assert.deepEqual(await link.request("sql.cancel"), { cancelled: 0 });
  } finally {
    await link.close();
    await t.stop();
  }
});
