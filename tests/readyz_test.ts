/**
 * Liveness and readiness over HTTP: `/readyz` (and `litejoin_ready`) turn to not ready
 * while the shards cannot commit for want of room, and back once there is room again,
 * with no input needed to notice; `/healthz` says alive all along. The full disk is made
 * as in meta_full_test.ts: SQLite's max_page_count caps the shard files at their size,
 * so a commit that needs a page fails with "database or disk is full", as on a full disk.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { quietLog, startEngine, startReceiver, waitFor } from "./_helpers.ts";
import { Engine, parseConfig } from "../engine/mod.ts";
import { shardPath } from "../engine/store/shard.ts";

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

for (const dlq of [false, true]) {
  const how = dlq ? "its dead-letter queue redelivers" : "a live delivery succeeds";
  Deno.test(`/readyz names a sink whose deliveries fail, until ${how}`, async () => {
    const receiver = await startReceiver();
    const t = await startEngine(`
engine: { data_dir: ./data }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - { name: copy, key: id, sql: "SELECT key AS id FROM events", sinks: [hook] }
sinks:
  - { name: hook, type: http, url: "${receiver.url}", retries: 0 }
dlq: ${
      dlq ? "{ max_attempts: 1000, backoff: { initial: 50ms, max: 200ms } }" : "{ enabled: false }"
    }
`);
    try {
      receiver.respond = () => 500;
      const post = async (id: string) => {
        const response = await t.post("/in", { id });
        assert.equal(response.status, 202);
        await response.body?.cancel();
      };
      await post("a");
      await waitFor("the delivery to fail", () => t.engine.readiness().length > 0);
      const failing = JSON.parse((await get(`${t.url}/readyz`)).body);
      assert.deepEqual(
        failing.reasons.map((r: { check: string; name: string }) => r.check + " " + r.name),
        ["sink hook"],
      );
      assert.match(failing.reasons[0].message, /answered 500/);
      receiver.respond = () => 200;
      // Without a DLQ, only new results are sent; with one, "a" is sent again from there.
      if (!dlq) await post("b");
      const expected = dlq ? "a" : "b";
      await waitFor(
        "a delivery to succeed",
        () => receiver.results().some((r) => r.key === expected),
      );
      // The receiver records a batch before its answer reaches the sink.
      await waitFor(
        "/readyz to say ready",
        async () => (await get(`${t.url}/readyz`)).status === 200,
      );
    } finally {
      await t.stop();
      await receiver.stop();
    }
  });
}

Deno.test("while the engine starts, its address answers: alive, not ready, and what it is doing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-test-" });
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const file = `${dir}/litejoin.yaml`;
  const config = () =>
    parseConfig(
      `http: { listen: "127.0.0.1:${port}" }
engine: { data_dir: ./data, shard_count: 1, busy_timeout: 60s }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
`,
      file,
    );
  const url = `http://127.0.0.1:${port}`;
  await (await Engine.start(config(), { log: quietLog })).stop();
  // Another connection holds the shard's write lock: the engine waits in "opening the shards".
  const holder = new DatabaseSync(shardPath(`${dir}/data`, 0));
  holder.exec("PRAGMA busy_timeout = 10000");
  holder.exec("BEGIN IMMEDIATE");
  const starting = Engine.start(config(), { log: quietLog });
  let engine: Engine | undefined;
  try {
    const answer = async (path: string) => {
      try {
        const response = await fetch(url + path);
        return { status: response.status, body: await response.json() };
      } catch {
        return undefined; // not listening yet
      }
    };
    await waitFor("the address to answer", async () => (await answer("/readyz")) !== undefined);
    assert.deepEqual(await answer("/readyz"), {
      status: 503,
      body: {
        status: "not ready",
        reasons: [{ check: "starting", message: "opening the shards" }],
      },
    });
    const alive = await answer("/healthz");
    assert.equal(alive?.status, 200);
    assert.equal(alive?.body.status, "starting");
    const post = await fetch(`${url}/in`, { method: "POST", body: '{"id":"a"}' });
    assert.equal(post.status, 503);
    await post.body?.cancel();
  } finally {
    holder.exec("ROLLBACK");
    holder.close();
    engine = await starting;
  }
  try {
    assert.deepEqual(await get(`${url}/readyz`), { status: 200, body: '{"status":"ready"}' });
    const accepted = await fetch(`${url}/in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"id":"a"}',
    });
    assert.equal(accepted.status, 202);
    await accepted.body?.cancel();
  } finally {
    await engine.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a window that could not record its progress is ready again once it can, with no input", async () => {
  const receiver = await startReceiver();
  const t = await startEngine(`
engine: { data_dir: ./data, shard_count: 1, busy_timeout: 100ms }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
windows:
  - name: per_second
    type: tumbling
    size: 1s
    sql: "SELECT count(*) AS n FROM events WHERE timestamp >= :window_start AND timestamp < :window_end"
    sinks: [hook]
sinks:
  - { name: hook, type: http, url: "${receiver.url}" }
`);
  // Another connection holds meta.db's write lock past the busy timeout: the window
  // closes, delivers, and cannot record that it did.
  const holder = new DatabaseSync(`${t.dir}/data/meta.db`);
  try {
    holder.exec("PRAGMA busy_timeout = 10000");
    holder.exec("BEGIN IMMEDIATE");
    const response = await t.post("/in", { id: "a" });
    assert.equal(response.status, 202);
    await response.body?.cancel();
    await waitFor(
      "the window to fail",
      () => t.engine.readiness().some((r) => r.check === "window"),
    );
    assert.equal((await get(`${t.url}/readyz`)).status, 503);
    holder.exec("ROLLBACK");
    await waitFor(
      "/readyz to say ready",
      async () => (await get(`${t.url}/readyz`)).status === 200,
    );
  } finally {
    if (holder.isTransaction) holder.exec("ROLLBACK");
    holder.close();
    await t.stop();
    await receiver.stop();
  }
});
