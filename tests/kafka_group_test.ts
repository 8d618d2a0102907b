/** Several engines in one consumer group share a topic's partitions. */
import assert from "node:assert/strict";
import { startEngine, topicKeys, waitFor } from "./_helpers.ts";
import {
  capturedLog,
  committedOffsets,
  connectedProducer,
  endOffsets,
  FAST_GROUP_YAML,
  produce,
  records,
  startMockBroker,
  testKafka,
} from "./kafka/kit.ts";

Deno.test("two engines in one consumer group split a 4-partition topic and together hold every record", async () => {
  const N = 4000;
  // Three brokers, so partition leaders are spread and each engine fetches from several.
  await using broker = await startMockBroker({ topics: { events: 4 }, brokers: 3 });
  const { kafka } = testKafka(broker.bootstrap);
  const producer = await connectedProducer(kafka);
  await produce(producer, "events", records(N));
  await producer.disconnect();

  const yaml = `
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: events_in, type: kafka, brokers: "${
    broker.bootstrap.join(",")
  }", kafka_topics: [events],
      group_id: shared, from_beginning: true, ${FAST_GROUP_YAML} }
`;
  // Both join before the group forms, so the first assignment already splits the topic.
  const logs = [capturedLog("info"), capturedLog("info")];
  const engines = await Promise.all(logs.map(({ log }) => startEngine(yaml, { log })));
  try {
    const held = () => engines.map((t) => topicKeys(`${t.dir}/data`, "events", 2));
    await waitFor(`${N} records across both engines`, () => {
      const [a, b] = held();
      return new Set([...a, ...b]).size === N;
    }, 30_000);
    const [a, b] = held();
    assert.ok(a.size > 0 && b.size > 0, `both engines hold records (${a.size} and ${b.size})`);
    assert.equal(a.size + b.size, N, "no record is held twice");

    const assignments = logs.map(({ lines }) => {
      const joined = lines.findLast((l) => l.includes("joined group shared"));
      return [...(/events\[([\d,]+)\]/.exec(joined ?? "")?.[1].split(",") ?? [])].map(Number);
    });
    assert.deepEqual([...assignments[0], ...assignments[1]].sort(), [0, 1, 2, 3]);
    assert.ok(
      assignments[0].length === 2 && assignments[1].length === 2,
      JSON.stringify(assignments),
    );

    const admin = kafka.admin();
    await admin.connect();
    try {
      const end = await endOffsets(admin, "events");
      await waitFor("the group's offsets committed to the end", async () => {
        const committed = await committedOffsets(admin, "shared", "events");
        return [...end].every(([p, offset]) => committed.get(p) === offset);
      });
    } finally {
      await admin.disconnect();
    }
  } finally {
    await Promise.all(engines.map((t) => t.stop()));
  }
});
