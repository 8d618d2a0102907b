import assert from "node:assert/strict";
import { ControlClient, RemoteError } from "./client.ts";
import { createLogger } from "../log.ts";
import { startEngine, startReceiver, waitFor } from "../../tests/_helpers.ts";
import type { Result } from "../types.ts";

const config = (hook: string, extra = "") => `
engine: { data_dir: ./data, shard_count: 1 }
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
joins:
  - { name: j, key: id, sql: "SELECT key AS id, json_extract(payload, '$.v') AS v FROM orders", sinks: [hook] }
sinks:
  - { name: hook, type: http, url: "${hook}", retries: 0, max_batch: 2 }
${extra}
`;

Deno.test("dlq control methods answer with the documented shapes", async () => {
  const receiver = await startReceiver();
  receiver.respond = (_, body) => body?.some((r) => r.key === "bad") ? 400 : 503;
  const t = await startEngine(config(receiver.url, "dlq: { backoff: { initial: 1h, max: 2h } }"));
  const client = await ControlClient.connect(t.engine.config.engine.socket!);
  try {
    await t.post("/in", [{ id: "a", v: 1 }, { id: "b", v: 2 }, { id: "c", v: 3 }]);
    await t.post("/in", { id: "bad", v: 0 });
    await waitFor("4 entries", async () => {
      const s = await client.request<{ total: number }>("dlq.stats");
      return s.total === 4;
    });
    const stats = await client.request<Record<string, unknown>>("dlq.stats");
    const oldest = (stats.by_sink as Record<string, { oldest_failed_at: number }>).hook
      .oldest_failed_at;
    assert.equal(typeof oldest, "number");
    assert.deepEqual(stats, {
      total: 4,
      by_sink: { hook: { retrying: 3, dead: 1, delivered: 0, oldest_failed_at: oldest } },
      rejected: {},
    });

    const { entries } = await client.request<{ entries: Record<string, unknown>[] }>(
      "dlq.list",
      { sink: "hook", status: "retrying", limit: 2 },
    );
    assert.deepEqual(entries.map((e) => e.key), ["a", "b"]);
    for (
      const field of [
        "id",
        "sink",
        "source",
        "key",
        "payload",
        "error",
        "attempts",
        "first_failed_at",
        "last_failed_at",
        "next_attempt_at",
        "status",
      ]
    ) assert.ok(field in entries[0], field);
    assert.equal(entries[0].source, "j");
    assert.match(String(entries[0].error), /answered 503/);
    assert.deepEqual((entries[0].payload as Result).row, { id: "a", v: 1 });
    const shown = await client.request("dlq.show", { id: entries[1].id });
    assert.deepEqual(shown, entries[1]);

    // Replay pushes progress to the caller as it goes.
    receiver.respond = (_, body) => body?.some((r) => r.key === "bad") ? 400 : 200;
    const progress: unknown[] = [];
    client.on("dlq.replay.progress", (p) => progress.push(p));
    const summary = await client.request("dlq.replay", { sink: "hook", progress: true });
    assert.deepEqual(summary, { replayed: 4, delivered: 3, failed: 1, skipped: 0 });
    assert.deepEqual(progress.at(-1), { done: 4, total: 4, delivered: 3, failed: 1 });
    assert.deepEqual(progress[0], { done: 0, total: 4, delivered: 0, failed: 0 });

    assert.deepEqual(await client.request("dlq.purge", { status: "delivered", dry_run: true }), {
      purged: 3,
    });
    assert.deepEqual(await client.request("dlq.purge", { status: "delivered" }), { purged: 3 });
    assert.equal((await client.request<{ total: number }>("dlq.stats")).total, 1);

    const refusals: [string, Record<string, unknown>, string, RegExp][] = [
      ["dlq.show", { id: 999 }, "not_found", /^no entry 999$/],
      ["dlq.show", {}, "bad_request", /^id is required$/],
      ["dlq.list", { status: "gone" }, "bad_request", /^status "gone" is not one of/],
      ["dlq.list", { limit: -1 }, "bad_request", /^limit must be an integer from 1 to 10000$/],
      ["dlq.replay", {}, "bad_request", /^say what to replay/],
      ["dlq.replay", { id: 1, all: true }, "bad_request", /^say what to replay/],
      ["dlq.purge", {}, "bad_request", /^say what to purge/],
    ];
    for (const [method, params, code, message] of refusals) {
      await assert.rejects(
        client.request(method, params),
        (e) => e instanceof RemoteError && e.code === code && message.test(e.message),
        `${method} ${JSON.stringify(params)}`,
      );
    }
  } finally {
    client.close();
    await t.stop();
    await receiver.stop();
  }
});

Deno.test("with dlq.enabled false, failures are logged and dropped and dlq methods say it is off", async () => {
  const lines: string[] = [];
  const receiver = await startReceiver();
  receiver.respond = () => 503;
  const t = await startEngine(config(receiver.url, "dlq: { enabled: false }"), {
    log: createLogger({ level: "warn", write: (l) => lines.push(l) }),
  });
  const client = await ControlClient.connect(t.engine.config.engine.socket!);
  try {
    assert.equal(t.engine.dlq, undefined);
    await t.post("/in", { id: "a", v: 1 });
    await waitFor(
      "the drop logged",
      () => lines.some((l) => /not delivered after all retries: /.test(l)),
    );
    assert.equal(await Deno.stat(`${t.dir}/data/dlq.db`).catch(() => null), null);
    await assert.rejects(
      client.request("dlq.stats"),
      (e) => e instanceof RemoteError && e.code === "dlq_disabled",
    );
  } finally {
    client.close();
    await t.stop();
    await receiver.stop();
  }
});
