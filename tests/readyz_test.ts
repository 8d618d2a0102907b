/**
 * Liveness and readiness over HTTP: `/readyz` (and `litejoin_ready`) turn to not ready
 * while the shards cannot commit for want of room, and back once there is room again,
 * with no input needed to notice; `/healthz` says alive all along. The full disk is made
 * as in meta_full_test.ts: SQLite's max_page_count caps the shard files at their size,
 * so a commit that needs a page fails with "database or disk is full", as on a full disk.
 */
import assert from "node:assert/strict";
import { startEngine, startReceiver, waitFor } from "./_helpers.ts";

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

async function ready(url: string): Promise<string> {
  const metrics = (await get(`${url}/metrics`)).body;
  return metrics.match(/^litejoin_ready (\d)$/m)?.[1] ?? "missing";
}

Deno.test("/readyz is 503 while the disk is full and 200 again once there is room; /healthz stays 200", async () => {
  const t = await startEngine(`
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
`);
  try {
    assert.deepEqual(await get(`${t.url}/readyz`), { status: 200, body: '{"status":"ready"}' });
    assert.equal(await ready(t.url), "1");
    await t.engine.writer.capSize(true);
    const pad = "x".repeat(20_000);
    const items = Array.from({ length: 50 }, (_, i) => ({ id: `k${i}`, pad }));
    const refused = await t.post("/in", items);
    assert.equal(refused.status, 503);
    assert.match(await refused.text(), /not stored: .*database or disk is full/);

    const full = await get(`${t.url}/readyz`);
    assert.equal(full.status, 503);
    const body = JSON.parse(full.body);
    assert.equal(body.status, "not ready");
    assert.deepEqual(body.reasons.map((r: { check: string }) => r.check), ["disk"]);
    assert.match(body.reasons[0].message, /cannot commit: database or disk is full; free space/);
    assert.equal(await ready(t.url), "0");
    assert.equal((await get(`${t.url}/healthz`)).status, 200, "alive while not ready");

    // Room again, and no input: the shards' own probes notice.
    await t.engine.writer.capSize(false);
    await waitFor(
      "/readyz to say ready",
      async () => (await get(`${t.url}/readyz`)).status === 200,
    );
    assert.equal(await ready(t.url), "1");
    const accepted = await t.post("/in", items);
    assert.equal(accepted.status, 202);
    await accepted.body?.cancel();
  } finally {
    await t.stop();
  }
});

Deno.test("/readyz names a sink whose deliveries fail, until one succeeds", async () => {
  const receiver = await startReceiver();
  const t = await startEngine(`
engine: { data_dir: ./data }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - { name: copy, key: id, sql: "SELECT key AS id FROM events", sinks: [hook] }
sinks:
  - { name: hook, type: http, url: "${receiver.url}", retries: 0 }
dlq: { enabled: false }
`);
  try {
    receiver.respond = () => 500;
    const post = async (id: string) => {
      const response = await t.post("/in", { id });
      assert.equal(response.status, 202);
      await response.body?.cancel();
    };
    await post("a");
    await waitFor(
      "the delivery to fail",
      () => receiver.requests > 0 && t.engine.readiness().length > 0,
    );
    const failing = JSON.parse((await get(`${t.url}/readyz`)).body);
    assert.equal(failing.reasons[0].check, "sink");
    assert.equal(failing.reasons[0].name, "hook");
    receiver.respond = () => 200;
    await post("b");
    await waitFor("a delivery to succeed", () => receiver.results().some((r) => r.key === "b"));
    assert.equal((await get(`${t.url}/readyz`)).status, 200);
  } finally {
    await t.stop();
    await receiver.stop();
  }
});
