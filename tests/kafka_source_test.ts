/** The Kafka source against a real Kafka-protocol broker (librdkafka's mock cluster). */
import assert from "node:assert/strict";
import { queryFile, startEngine, topicKeys, waitFor } from "./_helpers.ts";
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

const config = (brokers: string[], source: string, engine = "") => `
engine: { data_dir: ./data, shard_count: 2 ${engine} }
sources:
  - { name: events_in, type: kafka, brokers: "${brokers.join(",")}", ${FAST_GROUP_YAML},
      reconnect: { initial: 200ms, max: 1s }, ${source} }
`;

Deno.test("kafka source stores every record, keeps the bad ones, and commits what it stored", async () => {
  const N = 2000;
  await using broker = await startMockBroker({ topics: { events: 4 } });
  const { kafka } = testKafka(broker.bootstrap);
  const producer = await connectedProducer(kafka);
  const admin = kafka.admin();
  await admin.connect();
  const { log } = capturedLog("warn");
  const t = await startEngine(
    config(broker.bootstrap, "kafka_topics: [events], group_id: g1, from_beginning: true"),
    { log },
  );
  try {
    await produce(producer, "events", records(N / 2));
    await produce(producer, "events", [
      { key: "bad-json", value: '{"id": x}' },
      { key: "bad-array", value: "[1, 2]" },
      { key: null, value: '{"id": "no-record-key"}' },
      { key: "k5", value: null }, // a tombstone: deletes k5, stored before it on its partition
    ]);
    await produce(producer, "events", records(N / 2, { from: N / 2 }));

    const dir = `${t.dir}/data`;
    await waitFor(`${N - 1} keys`, () => topicKeys(dir, "events", 2).size === N - 1, 30_000);
    const keys = topicKeys(dir, "events", 2);
    assert.ok(!keys.has("k5"), "the tombstone deleted k5");
    assert.ok(keys.has("k0") && keys.has(`k${N - 1}`));

    const rejected = t.engine.dlq!.store.list({ status: "rejected" }, { limit: 10, offset: 0 })
      .sort((a, b) => String(a.key).localeCompare(String(b.key)));
    assert.deepEqual(rejected.map((r) => [r.source, r.key, r.error]), [
      ["events_in", "bad-array", "the value is JSON array, not an object"],
      ["events_in", "bad-json", 'not valid JSON at line 1 column 8: unexpected "x"'],
      ["events_in", null, "the record has no key (set key: to read it from the payload)"],
    ]);
    const bad = rejected[1].payload as {
      raw: string;
      topic: string;
      partition: number;
      offset: string;
    };
    assert.equal(bad.raw, '{"id": x}');
    assert.equal(bad.topic, "events");
    const metrics = t.engine.metrics.render();
    assert.match(
      metrics,
      /litejoin_source_rejected_total\{reason="invalid_json",source="events_in"\} 1/,
    );
    assert.match(
      metrics,
      /litejoin_source_rejected_total\{reason="not_object",source="events_in"\} 1/,
    );
    assert.match(metrics, /litejoin_source_rejected_total\{reason="no_key",source="events_in"\} 1/);

    // Offsets reach the end only after everything is stored; they are never ahead.
    const end = await endOffsets(admin, "events");
    await waitFor("offsets committed to the end", async () => {
      const committed = await committedOffsets(admin, "g1", "events");
      return [...end].every(([p, offset]) => committed.get(p) === offset);
    });
  } finally {
    await t.stop();
    await producer.disconnect();
    await admin.disconnect();
  }
});

Deno.test("kafka source pauses while the writer is behind, and loses nothing", async () => {
  const N = 6000;
  await using broker = await startMockBroker({ topics: { events: 4 } });
  const { kafka } = testKafka(broker.bootstrap);
  const producer = await connectedProducer(kafka);
  await produce(producer, "events", records(N), 1500);
  await producer.disconnect();
  const t = await startEngine(
    config(
      broker.bootstrap,
      "kafka_topics: [events], from_beginning: true, concurrency: 4",
      ", max_backlog: 10",
    ),
  );
  try {
    await waitFor(`${N} keys`, () => topicKeys(`${t.dir}/data`, "events", 2).size === N, 30_000);
    const paused = t.engine.metrics.counter("litejoin_source_kafka_paused_total", "")
      .get({ source: "events_in" });
    assert.ok(paused > 0, "the backlog limit paused a partition at least once");
  } finally {
    await t.stop();
  }
});

Deno.test("kafka source reports a missing topic in one line, retries, and consumes once it exists", async () => {
  await using broker = await startMockBroker({ topics: { other: 1 } });
  const { log, lines } = capturedLog("info");
  const t = await startEngine(
    config(broker.bootstrap, "kafka_topics: [later], from_beginning: true"),
    { log },
  );
  try {
    const missing =
      /error source\.events_in: Kafka topic later does not exist at 127\.0\.0\.1:\d+; create it \(this source never creates topics\); retrying in \d+\.\ds$/;
    await waitFor(
      "two missing-topic errors",
      () => lines.filter((l) => missing.test(l)).length >= 2,
    );
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200, "the engine keeps running");

    await broker.createTopic("later", 2);
    const { kafka } = testKafka(broker.bootstrap);
    const producer = await connectedProducer(kafka);
    await produce(producer, "later", records(100));
    await producer.disconnect();
    await waitFor("100 keys", () => topicKeys(`${t.dir}/data`, "later", 2).size === 100, 30_000);
    assert.ok(
      lines.some((l) =>
        /info {2}source\.events_in: joined group litejoin-events_in; partitions: later\[0,1\]/.test(
          l,
        )
      ),
    );
  } finally {
    await t.stop();
  }
});

Deno.test("kafka source reports an unreachable broker in one line, retries, and resumes when it is back", async () => {
  await using broker = await startMockBroker({ topics: { events: 2 } });
  await broker.down();
  const { log, lines } = capturedLog("info");
  const t = await startEngine(
    config(broker.bootstrap, "kafka_topics: [events], from_beginning: true"),
    { log },
  );
  const { kafka } = testKafka(broker.bootstrap);
  try {
    const unreachable =
      /error source\.events_in: cannot reach Kafka at 127\.0\.0\.1:\d+: cannot connect: .+; retrying in \d+\.\ds$/;
    await waitFor("an unreachable error", () => lines.some((l) => unreachable.test(l)), 30_000);
    await broker.up();
    const producer = await connectedProducer(kafka);
    await produce(producer, "events", records(100));
    await waitFor("100 keys", () => topicKeys(`${t.dir}/data`, "events", 2).size === 100, 30_000);

    // The broker goes away under a running consumer, and comes back.
    const before = lines.filter((l) => / error /.test(l)).length;
    await broker.down();
    await waitFor(
      "an error after the broker went down",
      () => lines.filter((l) => / error /.test(l)).length > before,
      30_000,
    );
    await broker.up();
    await produce(producer, "events", records(100, { from: 100 }));
    await producer.disconnect();
    await waitFor("200 keys", () => topicKeys(`${t.dir}/data`, "events", 2).size === 200, 30_000);
    for (const line of lines) assert.ok(!/\n|\sat \S+:\d+:\d+/.test(line), line);
  } finally {
    await t.stop();
  }
});

Deno.test("kafka source stopped mid-stream commits exactly what it stored; the restart repeats nothing", async () => {
  const N = 20_000;
  await using broker = await startMockBroker({ topics: { events: 4 } });
  const { kafka } = testKafka(broker.bootstrap);
  const producer = await connectedProducer(kafka);
  await produce(producer, "events", records(N), 250);
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const yaml = config(
    broker.bootstrap,
    "kafka_topics: [events], group_id: g, from_beginning: true",
  );
  const first = await startEngine(yaml);
  const dir = `${first.dir}/data`;
  const committedTotal = async () =>
    [...(await committedOffsets(admin, "g", "events")).values()]
      .reduce((sum, offset) => sum + (offset > 0n ? Number(offset) : 0), 0);
  try {
    await waitFor("a quarter stored", () => topicKeys(dir, "events", 2).size >= N / 4, 30_000);
    await first.stop();
    const stored = topicKeys(dir, "events", 2).size;
    assert.ok(stored < N, `stopped mid-stream (${stored} of ${N} stored)`);
    // Offsets start at 0 and every record has its own key: the committed offsets
    // count the records the group has consumed, and must match what is stored.
    assert.equal(await committedTotal(), stored);

    const second = await startEngine(yaml, { dir: first.dir });
    try {
      await waitFor(`all ${N} stored`, () => topicKeys(dir, "events", 2).size === N, 30_000);
      await waitFor("every offset committed", async () => await committedTotal() === N);
    } finally {
      await second.stop();
    }
    const writes = [0, 1].map((i) =>
      Number(queryFile(`${dir}/shard_${i}.db`, "SELECT seq FROM _litejoin_shard")[0].seq)
    );
    assert.equal(writes[0] + writes[1], N, "no record was written twice");
  } finally {
    await admin.disconnect();
  }
});
