import assert from "node:assert/strict";
import {
  isDiskFull,
  observeReadiness,
  type ReadinessFacts,
  readinessReasons,
  readinessResponse,
} from "./readiness.ts";
import { Metrics } from "./metrics.ts";

const healthy: ReadinessFacts = {
  stopping: false,
  dataDir: "./data",
  writer: { backlog: 10, maxBacklog: 1000, failures: [] },
  sources: [{ name: "orders" }, { name: "feed", failing: undefined }],
  sinks: [{ name: "hook" }],
  joins: [{ name: "copy", error: "" }],
  windows: [{ name: "per_second", error: "" }],
};

Deno.test("an engine with nothing failing is ready", () => {
  assert.deepEqual(readinessReasons(healthy), []);
});

Deno.test("a full disk is one reason naming the shards and what to do", () => {
  const full = "database or disk is full";
  const reasons = readinessReasons({
    ...healthy,
    writer: {
      ...healthy.writer,
      failures: [{ shard: 0, error: full }, { shard: 2, error: full }, {
        shard: 3,
        error: "disk I/O error",
      }],
    },
  });
  assert.deepEqual(reasons, [
    {
      check: "disk",
      message:
        "shards 0, 2 cannot commit: database or disk is full; free space on the disk of ./data",
    },
    { check: "writer", message: "shard 3 cannot commit: disk I/O error" },
  ]);
});

Deno.test("a writer backlog near its limit makes the engine not ready", () => {
  const at = (backlog: number) =>
    readinessReasons({ ...healthy, writer: { ...healthy.writer, backlog } }).map((r) => r.check);
  assert.deepEqual(at(899), []);
  assert.deepEqual(at(900), ["backlog"]);
  assert.match(
    readinessReasons({ ...healthy, writer: { ...healthy.writer, backlog: 1000 } })[0].message,
    /1000 of at most 1000 messages .*engine\.max_backlog/,
  );
});

Deno.test("failing sources, sinks, joins and windows are each a reason with their name", () => {
  const reasons = readinessReasons({
    ...healthy,
    stopping: true,
    sources: [{ name: "feed", failing: "cannot reach Kafka at k:9092: refused; retrying in 1.0s" }],
    sinks: [{ name: "hook", failing: "HTTP 500 from http://x" }, { name: "ok" }],
    joins: [{ name: "copy", error: "database or disk is full" }],
    windows: [{ name: "per_second", error: "no such column: y" }],
  });
  assert.deepEqual(reasons, [
    { check: "stopping", message: "the engine is shutting down" },
    {
      check: "source",
      name: "feed",
      message: "cannot reach Kafka at k:9092: refused; retrying in 1.0s",
    },
    {
      check: "sink",
      name: "hook",
      message: "the last delivery failed after every retry: HTTP 500 from http://x",
    },
    {
      check: "join",
      name: "copy",
      message:
        "the last evaluation failed: database or disk is full; free space on the disk of ./data",
    },
    {
      check: "window",
      name: "per_second",
      message: "the last evaluation failed: no such column: y",
    },
  ]);
});

Deno.test("disk-full errors are recognised from SQLite and the file system", () => {
  assert.ok(isDiskFull("commit to shard 0 failed: database or disk is full"));
  assert.ok(isDiskFull("No space left on device (os error 28)"));
  assert.ok(isDiskFull("ENOSPC: write"));
  assert.ok(!isDiskFull("database is locked"));
});

Deno.test("/readyz answers 200 when ready and 503 with the reasons otherwise; the gauge follows", async () => {
  const ok = readinessResponse([]);
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { status: "ready" });
  const reasons = [{ check: "stopping" as const, message: "the engine is shutting down" }];
  const not = readinessResponse(reasons);
  assert.equal(not.status, 503);
  assert.deepEqual(await not.json(), { status: "not ready", reasons });

  const metrics = new Metrics();
  let now: typeof reasons = [];
  observeReadiness(metrics, () => now);
  assert.match(metrics.render(), /^litejoin_ready 1$/m);
  now = reasons;
  assert.match(metrics.render(), /^litejoin_ready 0$/m);
});
