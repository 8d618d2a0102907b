import assert from "node:assert/strict";
import { startEngine, startReceiver, waitFor } from "../../tests/_helpers.ts";
import { ControlClient } from "./client.ts";
import { createStats } from "./console.ts";
import type { Stats } from "./protocol.ts";

function manualClock(start = 1_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

Deno.test("stats report exact topic rows, per-second rates, shard writes and topic bytes", async () => {
  const clock = manualClock();
  const t = await startEngine(
    `engine: { data_dir: ./data, shard_count: 2 }
control: { stats_interval: 1h }
topics: [{ name: customers }]
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
`,
    { clock },
  );
  const stats = createStats(t.engine.control, t.engine);
  try {
    await stats.tick();
    const note = "x".repeat(200);
    const orders = Array.from({ length: 300 }, (_, i) => ({ id: `o-${i}`, amount: i, note }));
    assert.equal((await t.post("/in", orders)).status, 202);
    assert.equal((await t.post("/in", orders.slice(0, 100))).status, 202); // updates
    clock.t += 2000;
    await stats.tick();
    let s = await stats.snapshot();
    const topic = (name: string) => s.topics.find((x) => x.topic === name)!;
    assert.deepEqual(
      [topic("orders").rows, topic("orders").written, topic("orders").rate_per_s],
      [300, 400, 200],
    );
    assert.deepEqual([topic("customers").rows, topic("customers").rate_per_s], [0, 0]);
    assert.equal(s.shards.length, 2);
    assert.equal(s.shards.reduce((n, x) => n + x.writes_per_s, 0), 200);
    assert.ok(s.shards.every((x) => x.history.length === 2 && x.db_bytes > 0), "history, sizes");
    assert.ok(s.shards.some((x) => x.commit_ms_p99 > 0 && x.commits_per_s > 0));
    assert.deepEqual([s.joins, s.windows, s.sinks, s.status], [[], [], [], "ok"]);
    assert.deepEqual(s.dlq, { total: 0, by_sink: {}, rejected: {} }, "the DLQ is on by default");

    await stats.measured();
    clock.t += 1000;
    await stats.tick();
    s = await stats.snapshot();
    assert.ok(topic("orders").bytes! > topic("customers").bytes!, JSON.stringify(s.topics));
    assert.equal(topic("orders").rate_per_s, 0, "no writes in the last interval");
    assert.equal(s.shards[0].history.length, 3);
  } finally {
    await stats.stop();
    await t.stop();
  }
});

Deno.test("stats turn a failing join red, and a sink that loses results without a DLQ, with the reason", async () => {
  const clock = manualClock();
  const receiver = await startReceiver();
  receiver.respond = () => 400;
  const t = await startEngine(
    `engine: { data_dir: ./data, shard_count: 2 }
control: { stats_interval: 1h }
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
joins:
  - name: fragile
    key: k
    sql: SELECT key AS k, CASE WHEN json_extract(payload, '$.boom') THEN abs(-9223372036854775808) ELSE 1 END AS x FROM orders
    sinks: [hook]
  - name: passthrough
    key: k
    sql: SELECT key AS k, payload FROM orders
    sinks: [hook]
sinks:
  - { name: hook, type: http, url: "${receiver.url}", retries: 0 }
dlq: { enabled: false }
`,
    { clock },
  );
  const stats = createStats(t.engine.control, t.engine);
  try {
    await stats.tick();
    await t.post("/in", [{ id: "a", boom: 1 }]);
    await waitFor("the join to fail", () => t.engine.joiner.health()[0].error !== "");
    await waitFor("the delivery to fail", () => receiver.requests > 0);
    await t.engine.joiner.drain();
    await waitFor(
      "the failure to be counted",
      () => t.engine.metrics.counter("litejoin_sink_failed_total", "").get({ sink: "hook" }) > 0,
    );
    clock.t += 1000;
    await stats.tick();
    const s: Stats = await stats.snapshot();
    const [fragile, passthrough] = s.joins;
    assert.deepEqual([fragile.status, fragile.reason], ["fail", "failing: integer overflow"]);
    assert.ok(fragile.errors >= 1);
    assert.deepEqual([passthrough.status, passthrough.evaluations >= 1], ["ok", true]);
    // The failing join still owes the commit it cannot evaluate; the other is caught up.
    assert.ok(fragile.lag_ms > 0, `fragile lag ${fragile.lag_ms}`);
    assert.equal(passthrough.lag_ms, 0);
    assert.deepEqual(
      [s.sinks[0].status, s.sinks[0].reason, s.sinks[0].failed, s.sinks[0].dlq_depth],
      ["fail", "1 result failed delivery in the last minute", 1, null],
    );
    assert.equal(s.status, "fail");
  } finally {
    await stats.stop();
    await t.stop();
    await receiver.stop();
  }
});

Deno.test("stats are pushed about once per interval to subscribed clients only", async () => {
  const t = await startEngine(`engine: { data_dir: ./data, shard_count: 1 }
control: { stats_interval: 100ms }
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
`);
  const subscriber = await ControlClient.connect(t.engine.config.engine.socket!);
  const bystander = await ControlClient.connect(t.engine.config.engine.socket!);
  try {
    const pushed: Stats[] = [];
    const ignored: unknown[] = [];
    bystander.on("stats", (d) => ignored.push(d));
    await subscriber.subscribe("stats", (d) => pushed.push(d as Stats));
    await t.post("/in", { id: "x" });
    await waitFor(
      "pushes that show the write",
      () => pushed.some((s) => s.topics[0].rows === 1 && s.topics[0].written === 1),
    );
    assert.equal(pushed[0].interval_ms, 100);
    assert.deepEqual(ignored, []);
  } finally {
    subscriber.close();
    bystander.close();
    await t.stop();
  }
});

Deno.test("stats read the dead-letter queue: depth and oldest entry per sink, and dead letters turn a sink red", async () => {
  const receiver = await startReceiver();
  receiver.respond = () => 400;
  const t = await startEngine(`engine: { data_dir: ./data, shard_count: 2 }
control: { stats_interval: 1h }
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
joins:
  - { name: copy, key: k, sql: "SELECT key AS k FROM orders", sinks: [hook, quiet] }
sinks:
  - { name: hook, type: http, url: "${receiver.url}", retries: 0 }
  - { name: quiet, type: sqlite, path: ./data/quiet.db }
`);
  const stats = createStats(t.engine.control, t.engine);
  try {
    for (const id of ["a", "b"]) await t.post("/in", { id });
    let s: Stats | undefined;
    await waitFor("two dead letters", async () => {
      s = await stats.snapshot();
      return s.dlq?.by_sink.hook?.dead === 2;
    });
    const hook = s!.sinks.find((x) => x.name === "hook")!;
    const quiet = s!.sinks.find((x) => x.name === "quiet")!;
    assert.equal(hook.dlq_depth, 2);
    assert.ok(
      hook.dlq_oldest! > 0 && hook.dlq_oldest! <= s!.at,
      "the oldest entry's first failure",
    );
    assert.equal(hook.status, "fail");
    assert.match(hook.reason, /^2 dead letters in the DLQ, oldest \d+s ago$/);
    assert.deepEqual([quiet.status, quiet.dlq_depth, quiet.delivered], ["ok", 0, 2]);
    assert.equal(s!.dlq!.total, 2);
  } finally {
    await stats.stop();
    await t.stop();
    await receiver.stop();
  }
});

Deno.test("stats show each window: closes, close-to-delivery latency, open windows, health", async () => {
  const t = await startEngine(`engine: { data_dir: ./data, shard_count: 1 }
control: { stats_interval: 1h }
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
windows:
  - name: per_second
    type: tumbling
    size: 1s
    sql: SELECT count(*) AS n FROM orders WHERE timestamp >= :window_start AND timestamp < :window_end
    sinks: [db]
sinks:
  - { name: db, type: sqlite, path: ./data/windows.db }
`);
  const stats = createStats(t.engine.control, t.engine);
  try {
    await t.post("/in", { id: "a" });
    let s: Stats | undefined;
    // A close shows in the counters at once, and in the latency from the next reading on.
    await waitFor("a window to close", async () => {
      await stats.tick();
      s = await stats.snapshot();
      return (s.windows[0]?.evaluations ?? 0) >= 1 && s.windows[0].p99_ms > 0;
    });
    const [w] = s!.windows;
    assert.deepEqual([w.name, w.type, w.status, w.reason, w.errors], [
      "per_second",
      "tumbling",
      "ok",
      "ok",
      0,
    ]);
    assert.ok(w.closed_through! > 0);
    assert.equal(s!.status, "ok");
  } finally {
    await stats.stop();
    await t.stop();
  }
});
