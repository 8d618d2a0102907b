import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../config/load.ts";
import { startEngine } from "../../tests/_helpers.ts";

const problems = (yaml: string): string[] => {
  try {
    parseConfig(yaml, "litejoin.yaml");
  } catch (error) {
    if (error instanceof ConfigError) return error.lines;
    throw error;
  }
  return [];
};

Deno.test("dlq config has defaults for every field", () => {
  assert.deepEqual(parseConfig("", "litejoin.yaml").dlq, {
    enabled: true,
    max_attempts: 8,
    backoff: { initial: 1000, max: 300_000, multiplier: 2, jitter: 0.2 },
    prune_delivered_after: 86_400_000,
  });
  assert.deepEqual(
    parseConfig("dlq: { max_attempts: 3, backoff: { initial: 5s } }", "litejoin.yaml").dlq.backoff,
    { initial: 5000, max: 300_000, multiplier: 2, jitter: 0.2 },
  );
});

Deno.test("dlq config problems are reported with their position", () => {
  assert.deepEqual(
    problems(`dlq:
  enabled: sometimes
  max_attempts: 0
  backoff: { initial: 1x, jitter: 2 }
  prune_after: 1h
`),
    [
      'litejoin.yaml:2:12: dlq.enabled: expected true or false, found "sometimes"',
      "litejoin.yaml:3:17: dlq.max_attempts: must be at least 1, found 0",
      'litejoin.yaml:4:23: dlq.backoff.initial: "1x" is not a duration (write e.g. 250ms, 10s, 5m, 24h, 7d)',
      "litejoin.yaml:4:35: dlq.backoff.jitter: must be at most 1, found 2",
      "litejoin.yaml:5:3: dlq.prune_after: unknown field; known: enabled, max_attempts, backoff, prune_delivered_after",
    ],
  );
  assert.deepEqual(problems("dlq: { backoff: { initial: 10m, max: 1m } }"), [
    "litejoin.yaml:1:38: dlq.backoff.max: dlq.backoff.max is shorter than dlq.backoff.initial; raise max or lower initial",
  ]);
  assert.deepEqual(problems("dlq: { backoff: { initial: 10m } }"), [
    "litejoin.yaml:1:28: dlq.backoff.initial: dlq.backoff.max is shorter than dlq.backoff.initial; raise max or lower initial",
  ]);
});

Deno.test("sources' rejected inputs are kept in dlq.db and counted in stats and /metrics", async () => {
  const t = await startEngine("engine: { data_dir: ./data, shard_count: 1 }\n");
  try {
    const dlq = t.engine.dlq!;
    await dlq.reject({
      source: "kafka_in",
      reason: "not JSON: Unexpected token",
      raw: "{oops",
      detail: { topic: "orders", partition: 2, offset: 1041 },
    });
    await dlq.reject({ source: "api_in", reason: "no key at id", raw: '{"name":"x"}' });
    const stats = await dlq.api.stats();
    assert.deepEqual(stats, { total: 2, by_sink: {}, rejected: { kafka_in: 1, api_in: 1 } });
    const [entry] = (await dlq.api.list({ source: "kafka_in" })).entries;
    assert.equal(entry.status, "rejected");
    assert.equal(entry.error, "not JSON: Unexpected token");
    assert.deepEqual(entry.payload, { topic: "orders", partition: 2, offset: 1041, raw: "{oops" });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(metrics, /^litejoin_dlq_rejected_inputs\{source="kafka_in"\} 1$/m);
    assert.match(metrics, /^litejoin_dlq_rejected_total\{source="api_in"\} 1$/m);
  } finally {
    await t.stop();
  }
});
