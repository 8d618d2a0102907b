import assert from "node:assert/strict";
import { cli, queryFile, type Receiver, startEngine, startReceiver, waitFor } from "./_helpers.ts";
import { spawnEngine } from "./_process.ts";
import type { Result } from "../engine/types.ts";

const pipeline = (hook: string) => `
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
joins:
  - name: totals
    key: order_id
    sql: SELECT key AS order_id, json_extract(payload, '$.amount') AS amount FROM orders
    sinks: [hook]
sinks:
  - { name: hook, type: http, url: "${hook}", retries: 1, backoff: { initial: 10ms, max: 20ms }, timeout: 2s }
dlq: { max_attempts: 1000, backoff: { initial: 50ms, max: 300ms } }
`;

/** How many times each key reached the receiver(s), over all its lives. */
function tally(receivers: Receiver[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of receivers) {
    for (const result of r.results()) counts.set(result.key, (counts.get(result.key) ?? 0) + 1);
  }
  return counts;
}

const orders = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ id: `o${from + i}`, amount: from + i }));

const refusesPoison = (_: number, body?: Result[]) =>
  body?.some((r) => r.key === "poison") ? 400 : 200;

Deno.test("a webhook outage sends results to the DLQ; the worker drains it when the peer is back", async () => {
  let receiver = await startReceiver();
  const port = Number(new URL(receiver.url).port);
  const lives = [receiver];
  const t = await startEngine(pipeline(receiver.url));
  try {
    await t.post("/orders", orders(1, 10));
    await waitFor("the first results", () => tally(lives).size === 10);

    // The peer goes down while results keep flowing; one of them it will refuse for good.
    await receiver.stop();
    for (let i = 11; i <= 40; i += 5) {
      const batch: { id: string; amount: number }[] = orders(i, i + 4);
      if (i === 21) batch.push({ id: "poison", amount: -1 });
      assert.equal((await t.post("/orders", batch)).status, 202);
    }
    const dlq = t.engine.dlq!.api;
    await waitFor(
      "31 results queued",
      async () => (await dlq.stats()).by_sink.hook.retrying === 31,
      20_000,
    );
    await waitFor(
      "the worker to retry while the peer is down",
      async () => (await dlq.list({ status: "retrying" })).entries.some((e) => e.attempts >= 3),
      20_000,
    );
    assert.equal(tally(lives).size, 10, "nothing reached the stopped peer");

    // The peer comes back at the same address, refusing only the poison result.
    receiver = await startReceiver({ port });
    receiver.respond = refusesPoison;
    lives.push(receiver);
    await waitFor("the queue to drain", async () => {
      const s = (await dlq.stats()).by_sink.hook;
      return s.retrying === 0 && s.dead === 1;
    }, 20_000);

    const counts = tally(lives);
    const expected = orders(1, 40).map((o) => o.id);
    const missing = expected.filter((k) => !counts.has(k));
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    console.log(
      `outage: ${expected.length} results, ${counts.size} distinct keys received, ` +
        `${[...counts.values()].reduce((a, b) => a + b, 0)} deliveries, ${duplicates} duplicated`,
    );
    assert.deepEqual(missing, [], "every result reached the receiver at least once");
    assert.equal(counts.has("poison"), false);

    const [dead] = (await dlq.list({ status: "dead" })).entries;
    assert.equal(dead.key, "poison");
    assert.equal(dead.source, "totals");
    assert.match(dead.error, /answered 400/);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(metrics, /^litejoin_dlq_entries\{sink="hook",status="dead"\} 1$/m);
    assert.match(metrics, /^litejoin_dlq_entries\{sink="hook",status="retrying"\} 0$/m);
    assert.match(metrics, /^litejoin_dlq_oldest_entry_age_seconds\{sink="hook"\} [\d.]+$/m);

    // Once the receiver accepts it, the operator replays it through the running engine.
    receiver.respond = () => 200;
    const replay = await cli(["dlq", "replay", "--all", "-c", `${t.dir}/litejoin.yaml`]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stderr, /using the engine at .*litejoin\.sock/);
    assert.equal(replay.stdout.trim(), "replayed 1 entry: 1 delivered, 0 failed");
    assert.equal(tally(lives).get("poison"), 1);
    const after = (await dlq.stats()).by_sink.hook;
    assert.deepEqual([after.retrying, after.dead], [0, 0]);
  } finally {
    await t.stop();
    await receiver.stop().catch(() => {});
  }
});

Deno.test("results in the DLQ survive SIGKILL and are delivered after a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-dlq-crash-" });
  const receiver = await startReceiver();
  receiver.respond = () => 503;
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    `http: { listen: "127.0.0.1:0" }\n${pipeline(receiver.url)}`,
  );
  const engine = await spawnEngine(dir);
  try {
    const response = await fetch(`${engine.url}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(orders(1, 25)),
    });
    assert.equal(response.status, 202);
    await waitFor("25 queued results", () => {
      try {
        return queryFile(`${dir}/data/dlq.db`, "SELECT count(*) AS n FROM entries")[0].n === 25;
      } catch {
        return false;
      }
    }, 20_000);
  } finally {
    engine.child.kill("SIGKILL");
    await engine.exited;
  }
  receiver.respond = () => 200;
  const restarted = await spawnEngine(dir);
  try {
    await waitFor("every result delivered", () => tally([receiver]).size === 25, 20_000);
    await waitFor("the queue drained", () =>
      queryFile(
        `${dir}/data/dlq.db`,
        "SELECT count(*) AS n FROM entries WHERE status != 'delivered'",
      )[0].n === 0);
  } finally {
    restarted.child.kill("SIGTERM");
    assert.equal((await restarted.exited).code, 0);
    await receiver.stop();
  }
});

Deno.test("a newer result delivered live supersedes its queued older one: the peer never goes back", async () => {
  const receiver = await startReceiver();
  receiver.respond = () => 503;
  const t = await startEngine(
    pipeline(receiver.url).replace("initial: 50ms, max: 300ms", "initial: 1h, max: 2h"),
  );
  try {
    await t.post("/orders", { id: "o1", amount: 1 });
    const dlq = t.engine.dlq!.api;
    await waitFor("o1 queued", async () => (await dlq.stats()).by_sink.hook.retrying === 1);
    receiver.respond = () => 200;
    await t.post("/orders", { id: "o1", amount: 2 });
    // Once the peer has acknowledged the newer result, the queued one is superseded.
    await waitFor("o1 superseded", async () => (await dlq.stats()).by_sink.hook.delivered === 1);
    const [entry] = (await dlq.list({})).entries;
    assert.equal(entry.status, "delivered");
    assert.equal(entry.superseded, true);
    assert.equal((entry.payload as Result).row.amount, 1);
    assert.deepEqual(await dlq.replay({ all: true }), {
      replayed: 0,
      delivered: 0,
      failed: 0,
      skipped: 0,
    });
    assert.deepEqual(receiver.results().map((r) => [r.key, r.row.amount]), [["o1", 2]]);
  } finally {
    await t.stop();
    await receiver.stop();
  }
});
