import assert from "node:assert/strict";
import { evaluatorHealth, sinkHealth, worst } from "./health.ts";

Deno.test("a join is red while failing, amber when behind or slow, green otherwise", () => {
  assert.deepEqual(evaluatorHealth({ error: "no such table: x", p99_ms: 1 }), {
    status: "fail",
    reason: "failing: no such table: x",
  });
  assert.deepEqual(evaluatorHealth({ error: "", pending_keys: 12_000, p99_ms: 1 }), {
    status: "warn",
    reason: "behind: 12000 changed keys waiting",
  });
  assert.deepEqual(evaluatorHealth({ error: "", p99_ms: 2500 }), {
    status: "warn",
    reason: "slow: p99 2.5s",
  });
  assert.deepEqual(evaluatorHealth({ error: "", pending_keys: 3, p99_ms: 10 }), {
    status: "ok",
    reason: "ok",
  });
});

Deno.test("a sink is red with lost or dead results, amber while retrying or behind", () => {
  const base = { failedRecently: 0, retriesRecently: 0, backlog: 0, dlq: null, now: 10_000_000 };
  assert.deepEqual(sinkHealth({ ...base, failedRecently: 2 }), {
    status: "fail",
    reason: "2 results failed delivery in the last minute",
  });
  assert.deepEqual(sinkHealth({ ...base, retriesRecently: 1 }), {
    status: "warn",
    reason: "retrying: 1 retry in the last minute",
  });
  assert.deepEqual(sinkHealth({ ...base, backlog: 20_000 }), {
    status: "warn",
    reason: "behind: 20000 queued",
  });
  const dlq = { retrying: 0, dead: 1, oldest_failed_at: base.now - 7_200_000 };
  assert.deepEqual(sinkHealth({ ...base, failedRecently: 5, dlq }), {
    status: "fail",
    reason: "1 dead letter in the DLQ, oldest 2h ago",
  });
  assert.deepEqual(
    sinkHealth({ ...base, failedRecently: 5, dlq: { ...dlq, dead: 0, retrying: 4 } }),
    {
      status: "warn",
      reason: "4 in the DLQ, retrying, oldest 2h ago",
    },
  );
  assert.deepEqual(sinkHealth({ ...base, dlq: { ...dlq, dead: 0 } }), {
    status: "ok",
    reason: "ok",
  });
});

Deno.test("the overall status is the worst of its parts", () => {
  assert.equal(worst([]), "ok");
  assert.equal(worst(["ok", "warn", "ok"]), "warn");
  assert.equal(worst(["warn", "fail", "ok"]), "fail");
});
