import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import type { HttpServer } from "../http/server.ts";
import { parseConfig } from "../config/load.ts";
import type { Result } from "../types.ts";
import { DeliveryError, type SinkContext } from "./sink.ts";
import { KafkaSink, type KafkaSinkConfig, toRecords } from "./kafka.ts";

const result: Result = {
  name: "enriched",
  key: "o-1",
  row: { order_id: "o-1", amount: 5 },
  timestamp: 1_700_000_000_000,
  _change: { op: "insert" },
};

Deno.test("kafka sink records: the result key is the record key, the result is the value", () => {
  assert.deepEqual(toRecords([result]), [{
    key: "o-1",
    value: JSON.stringify(result),
    timestamp: "1700000000000",
  }]);
});

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

Deno.test("kafka sink: an unreachable cluster fails the send with a retriable DeliveryError", async () => {
  const port = closedPort();
  const config = parseConfig(
    `sinks:\n  - { name: out, type: kafka, brokers: [127.0.0.1:${port}], topic: results }\n`,
    "c.yaml",
  ).sinks[0] as KafkaSinkConfig;
  const ctx: SinkContext = {
    http: {} as HttpServer,
    clock: { now: () => 0 },
    log: silentLogger,
    metrics: new Metrics(),
    dataDir: "/nonexistent",
    resolvePath: (p) => p,
  };
  const sink = new KafkaSink("out", config, ctx);
  try {
    const error = await sink.send([result]).then(() => undefined, (e) => e);
    assert.ok(error instanceof DeliveryError, String(error));
    assert.equal(
      error.message,
      `cannot reach Kafka for results at 127.0.0.1:${port}: cannot connect: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    assert.equal(error.permanent, false);
  } finally {
    await sink.close();
  }
});
