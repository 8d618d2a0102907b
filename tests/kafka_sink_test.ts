/** The Kafka sink against a real Kafka-protocol broker: a join's results, read back. */
import assert from "node:assert/strict";
import type { Result } from "../engine/types.ts";
import { startEngine, waitFor } from "./_helpers.ts";
import { capturedLog, readBack, startMockBroker, testKafka } from "./kafka/kit.ts";

const pipeline = (brokers: string[], topic: string) => `
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
  - { name: customers_in, type: http, path: /customers, topic: customers, key: id }
joins:
  - name: enriched
    key: order_id
    sql: |
      SELECT o.key AS order_id, json_extract(o.payload, '$.amount') AS amount,
             json_extract(c.payload, '$.name') AS customer
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
    sinks: [out]
sinks:
  - { name: out, type: kafka, brokers: [${brokers.join(", ")}], topic: ${topic},
      retries: 1, backoff: { initial: 10ms, max: 50ms } }
`;

Deno.test("a join's results produced by the kafka sink are read back: key, value, changes", async () => {
  await using broker = await startMockBroker({ topics: { "enriched-orders": 3 } });
  const t = await startEngine(pipeline(broker.bootstrap, "enriched-orders"));
  try {
    await t.post("/customers", [{ id: "c1", name: "Ada" }, { id: "c2", name: "Grace" }]);
    await t.post("/orders", [
      { id: "o1", customer_id: "c1", amount: 10 },
      { id: "o2", customer_id: "c2", amount: 20 },
      { id: "o3", customer_id: "c1", amount: 30 },
    ]);
    await t.engine.joiner.drain();
    await t.post("/customers", { id: "c2", name: "Grace H." }); // updates o2
    await t.engine.joiner.drain();
    await t.post("/orders", { id: "o1", customer_id: "nobody", amount: 10 }); // deletes o1
    await t.engine.joiner.drain();

    const { kafka } = testKafka(broker.bootstrap);
    const records = await readBack(kafka, "enriched-orders", 5);
    const results = records.map((r) => {
      const result = JSON.parse(r.value!.toString()) as Result;
      assert.equal(r.key!.toString(), result.key, "the record key is the result key");
      assert.equal(r.timestamp, String(result.timestamp));
      return result;
    });
    assert.ok(results.every((r) => r.name === "enriched"));
    // In the order they were produced (one key keeps to one partition); a delete
    // carries the key, whatever its row holds.
    const byKey = (key: string) =>
      results.filter((r) => r.key === key).map((r) =>
        r._change?.op === "delete" ? ["delete"] : [r._change?.op, r.row]
      );
    assert.deepEqual(byKey("o1"), [
      ["insert", { order_id: "o1", amount: 10, customer: "Ada" }],
      ["delete"],
    ]);
    assert.deepEqual(byKey("o2"), [
      ["insert", { order_id: "o2", amount: 20, customer: "Grace" }],
      ["update", { order_id: "o2", amount: 20, customer: "Grace H." }],
    ]);
    assert.deepEqual(byKey("o3"), [["insert", { order_id: "o3", amount: 30, customer: "Ada" }]]);
    const delivered = t.engine.metrics.counter("litejoin_sink_delivered_total", "");
    assert.equal(delivered.get({ sink: "out" }), 5);
  } finally {
    await t.stop();
  }
});

Deno.test("kafka sink: a missing topic fails delivery in one line, on the sinks' failure path", async () => {
  await using broker = await startMockBroker({ topics: { other: 1 } });
  const { log, lines } = capturedLog("warn");
  const t = await startEngine(pipeline(broker.bootstrap, "missing-topic"), { log });
  try {
    await t.post("/customers", { id: "c1", name: "Ada" });
    await t.post("/orders", { id: "o1", customer_id: "c1", amount: 10 });
    const failed = t.engine.metrics.counter("litejoin_sink_failed_total", "");
    await waitFor("the failure path", () => failed.get({ sink: "out" }) === 1, 30_000);
    assert.ok(
      lines.some((l) =>
        /warn {2}sink\.out: 1 result\(s\) not delivered after all retries, queued in the DLQ: Kafka topic missing-topic at 127\.0\.0\.1:\d+ does not exist; create it \(this sink never creates topics\)$/
          .test(l)
      ),
      lines.join("\n"),
    );
  } finally {
    await t.stop();
  }
});
