import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../config/load.ts";
import { Meta } from "../store/meta.ts";
import { Metrics } from "../metrics.ts";
import type { HttpServer } from "../http/server.ts";
import type { Writer } from "../store/writer.ts";
import type { Message } from "../types.ts";
import { KafkaSource, type KafkaSourceConfig } from "./kafka.ts";
import {
  capturedLog,
  committedOffsets,
  connectedProducer,
  FAST_GROUP_YAML,
  produce,
  records,
  startMockBroker,
  testKafka,
} from "../../tests/kafka/kit.ts";
import { waitFor } from "../../tests/_helpers.ts";

const NOW = 1_800_000_000_000;

function configProblems(source: string): string[] {
  try {
    parseConfig(`sources:\n  - { name: k, type: kafka, ${source} }\n`, "c.yaml");
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.lines;
  }
}

Deno.test("kafka source config: problems are reported with their position", () => {
  assert.deepEqual(configProblems("brokers: [a:9092], kafka_topics: [orders]"), []);
  assert.deepEqual(configProblems('brokers: "a:9092, b:9093", kafka_topics: [orders]'), []);
  assert.deepEqual(configProblems("brokers: [a], kafka_topics: [orders]"), [
    'c.yaml:2:39: sources[0].brokers[0]: "a" is not a broker address (write host:port)',
  ]);
  assert.deepEqual(configProblems("brokers: a:1, kafka_topics: [orders.v1]"), [
    "c.yaml:2:5: sources[0]: set topic: the Kafka topic name orders.v1 cannot be a topic here " +
    "(must be lower-case letters, digits and _ (not starting with a digit), at most 63 characters)",
  ]);
  assert.deepEqual(configProblems("brokers: a:1, kafka_topics: [a, b]"), [
    "c.yaml:2:5: sources[0]: reads several Kafka topics: set topic, the topic they are written to",
  ]);
  assert.deepEqual(
    configProblems("brokers: a:1, kafka_topics: [a], session_timeout: 2s, heartbeat_interval: 3s"),
    [
      "c.yaml:2:5: sources[0]: heartbeat_interval (3000 ms) must be below session_timeout (2000 ms)",
    ],
  );
  assert.deepEqual(configProblems("brokers: a:1, kafka_topics: [a], sasl: { mechanism: oauth }"), [
    "c.yaml:2:68: sources[0].sasl.username: is required (string)",
    "c.yaml:2:68: sources[0].sasl.password: is required (string)",
    'c.yaml:2:81: sources[0].sasl.mechanism: "oauth" is not one of plain, scram-sha-256, scram-sha-512',
  ]);
});

/** A writer whose commits wait for `release`, or fail while `failures` lasts. */
class TestWriter {
  backlog = 0;
  options = { maxBacklog: 10_000 };
  calls = 0;
  failures = 0;
  gate = Promise.withResolvers<void>();
  readonly stored: Message[] = [];
  async write(messages: readonly Message[]): Promise<void> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error("commit to shard 0 failed: disk I/O error");
    }
    await this.gate.promise;
    this.stored.push(...messages);
  }
}

async function withSource(
  fn: (ctx: {
    writer: TestWriter;
    lines: string[];
    committed: () => Promise<bigint | undefined>;
    produced: (n: number) => Promise<void>;
  }) => Promise<void>,
) {
  await using broker = await startMockBroker({ topics: { events: 1 } });
  const dir = await Deno.makeTempDir({ prefix: "litejoin-kafka-source-" });
  const meta = new Meta(`${dir}/meta.db`);
  const config = parseConfig(
    `sources:\n  - { name: in, type: kafka, brokers: "${broker.bootstrap}", kafka_topics: [events],
        group_id: g, from_beginning: true, reconnect: { initial: 100ms, max: 500ms }, ${FAST_GROUP_YAML} }`,
    `${dir}/litejoin.yaml`,
  ).sources[0] as KafkaSourceConfig;
  const { kafka } = testKafka(broker.bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  const producer = await connectedProducer(kafka);
  const writer = new TestWriter();
  const { log, lines } = capturedLog("info");
  const source = new KafkaSource("in", config, {
    writer: writer as unknown as Writer,
    http: {} as HttpServer,
    meta,
    clock: { now: () => NOW },
    log,
    metrics: new Metrics(),
  });
  await source.start();
  try {
    await fn({
      writer,
      lines,
      committed: async () => (await committedOffsets(admin, "g", "events")).get(0),
      produced: (n) => produce(producer, "events", records(n)),
    });
  } finally {
    await source.stop();
    await producer.disconnect();
    await admin.disconnect();
    meta.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("kafka source commits no offset before the SQLite commit that holds the records", () =>
  withSource(async ({ writer, committed, produced }) => {
    await produced(10);
    await waitFor("the batch to reach the writer", () => writer.calls > 0, 15_000);
    // Ten fetch cycles (max_wait 100ms) while the commit is held back: no offset moves.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await committed(), -1n);
    assert.equal(writer.stored.length, 0);
    writer.gate.resolve();
    await waitFor("the offset after the commit", async () => await committed() === 10n);
    assert.deepEqual(writer.stored.map((m) => m.key), records(10).map((r) => r.key));
  }));

Deno.test("kafka source retries a failed SQLite commit from the committed offset, skipping nothing", () =>
  withSource(async ({ writer, lines, committed, produced }) => {
    writer.gate.resolve();
    writer.failures = 6; // more than kafkajs retries inline: the consumer restarts
    await produced(10);
    await waitFor("the offset after the commit", async () => await committed() === 10n, 30_000);
    assert.equal(writer.failures, 0);
    assert.deepEqual(writer.stored.map((m) => m.key), records(10).map((r) => r.key));
    assert.ok(
      lines.some((l) =>
        /error consumer stopped: commit to shard 0 failed: disk I\/O error; retrying in/
          .test(l)
      ),
      lines.join("\n"),
    );
  }));
