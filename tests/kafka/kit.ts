/** Helpers for tests against the mock Kafka broker: clients, producing, reading back, offsets. */
import {
  type Admin,
  type ConsumerConfig,
  Kafka,
  type KafkaMessage,
  logLevel,
  type Message,
  Partitioners,
  type Producer,
} from "kafkajs";
import { createLogger, type Logger } from "../../engine/log.ts";
import { silenceTimeoutNegativeWarning } from "../../engine/kafka/client.ts";
import { waitFor } from "../_helpers.ts";

export { type MockBroker, startMockBroker } from "./broker.ts";

/**
 * Consumer-group timing that suits the mock (librdkafka 2.0.2). It answers the first
 * JoinGroup of an empty group after a fixed 3 s, and later rebalances after
 * `sessionTimeout - 1000` ms; a member waiting in JoinGroup sends no heartbeats and
 * is expired after `sessionTimeout`, so that must stay well above 3 s. Start every
 * member of a group together, so that one 3 s join covers them all.
 */
export const FAST_GROUP: Omit<ConsumerConfig, "groupId"> = {
  sessionTimeout: 4000,
  heartbeatInterval: 500,
  rebalanceTimeout: 4000,
  maxWaitTimeInMs: 100,
};

/** The same timing as fields of a `type: kafka` source, for engine configs. */
export const FAST_GROUP_YAML =
  "session_timeout: 4s, heartbeat_interval: 500ms, rebalance_timeout: 4s, max_wait: 100ms";

/** A client whose kafkajs logs are kept in `logs` (printed with KAFKAJS_TEST_LOG=1). */
export function testKafka(bootstrap: string[]) {
  silenceTimeoutNegativeWarning();
  const logs: string[] = [];
  const echo = Deno.env.get("KAFKAJS_TEST_LOG") === "1";
  const kafka = new Kafka({
    clientId: "litejoin-test",
    brokers: bootstrap,
    logLevel: logLevel.WARN,
    retry: { retries: 3, initialRetryTime: 100 },
    logCreator: () => ({ namespace, log }) => {
      const line = `${namespace}: ${log.message}`;
      logs.push(line);
      if (echo) console.error(`[kafkajs] ${line}`);
    },
  });
  return { kafka, logs };
}

export async function connectedProducer(
  kafka: Kafka,
  opts: { allowAutoTopicCreation?: boolean } = {},
): Promise<Producer> {
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: opts.allowAutoTopicCreation ?? false,
  });
  await producer.connect();
  return producer;
}

/** `{id, n}` JSON records with keys `<prefix><n>`, for n in [from, from + count). */
export function records(count: number, { from = 0, prefix = "k" } = {}): Message[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    return { key: `${prefix}${n}`, value: JSON.stringify({ id: `${prefix}${n}`, n }) };
  });
}

/** Sends `messages` with acks from every replica, `batch` per request. */
export async function produce(
  producer: Producer,
  topic: string,
  messages: Message[],
  batch = 500,
): Promise<void> {
  for (let i = 0; i < messages.length; i += batch) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + batch) });
  }
}

/** Reads `topic` from the beginning with a fresh group until `count` records arrived. */
export async function readBack(
  kafka: Kafka,
  topic: string,
  count: number,
  timeoutMs = 30_000,
): Promise<KafkaMessage[]> {
  const got: KafkaMessage[] = [];
  const consumer = kafka.consumer({ groupId: `reader-${crypto.randomUUID()}`, ...FAST_GROUP });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        got.push(message);
        return Promise.resolve();
      },
    });
    await waitFor(
      `${count} records in ${topic} (have ${got.length})`,
      () => got.length >= count,
      timeoutMs,
    );
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** Per partition, the offset after the last record. */
export async function endOffsets(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
}

/** Per partition, the offset `group` committed (-1 when none). */
export async function committedOffsets(
  admin: Admin,
  group: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return new Map(committed.partitions.map((p) => [p.partition, BigInt(p.offset)]));
}

/** A logger that keeps every line (at `level` and above), for asserting what was logged. */
export function capturedLog(level: "debug" | "info" | "warn" | "error" = "info") {
  const lines: string[] = [];
  const echo = Deno.env.get("LITEJOIN_TEST_LOG") === "1";
  const log: Logger = createLogger({
    level,
    write: (line) => {
      lines.push(line);
      if (echo) console.error(line);
    },
  });
  return { log, lines };
}
