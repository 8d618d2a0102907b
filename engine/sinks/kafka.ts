/**
 * Kafka sink: produces each result to a Kafka topic, the result key as the record
 * key (so one key keeps to one partition, in order) and the whole result
 * `{name, key, row, timestamp, _change}` as JSON in the value. A batch is one
 * produce request acknowledged by all in-sync replicas (`acks: -1`).
 */
import { CompressionTypes, type Message, Partitioners, type Producer } from "kafkajs";
import { type Infer, object, oneOf } from "../schema/schema.ts";
import { deliveryFields } from "../schema/common.ts";
import { duration } from "../schema/units.ts";
import { clientFields, createKafka, describeKafkaError, kafkaTopic } from "../kafka/client.ts";
import type { Result } from "../types.ts";
import { DeliveryError, type Sink, type SinkContext } from "./sink.ts";

export const spec = object({
  ...clientFields(),
  topic: kafkaTopic().describe("Kafka topic the results are produced to.", "enriched-orders"),
  compression: oneOf(["none", "gzip"] as const).default("none").describe(
    "Compression of each produce request.",
  ),
  timeout: duration().default(30_000).describe(
    "Time the brokers have to acknowledge a batch on every in-sync replica.",
  ),
  ...deliveryFields(),
});

export type KafkaSinkConfig = Infer<typeof spec>;

/** The records for a batch of results: key → record key, the result as JSON → value. */
export function toRecords(results: readonly Result[]): Message[] {
  return results.map((result) => ({
    key: result.key,
    value: JSON.stringify(result),
    timestamp: String(result.timestamp),
  }));
}

export class KafkaSink implements Sink {
  readonly #producer: Producer;
  readonly #where: string;
  #connected: Promise<void> | undefined;

  constructor(readonly name: string, readonly config: KafkaSinkConfig, ctx: SinkContext) {
    this.#producer = createKafka(config, ctx.log).producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      idempotent: false,
    });
    this.#where = `${config.topic} at ${config.brokers.join(",")}`;
  }

  /** Connects on first use, so that the engine starts while the cluster is down. */
  #connect(): Promise<void> {
    this.#connected ??= this.#producer.connect().catch((error) => {
      this.#connected = undefined;
      throw error;
    });
    return this.#connected;
  }

  async send(results: readonly Result[]): Promise<void> {
    try {
      await this.#connect();
      await this.#producer.send({
        topic: this.config.topic,
        acks: -1,
        timeout: this.config.timeout,
        compression: this.config.compression === "gzip"
          ? CompressionTypes.GZIP
          : CompressionTypes.None,
        messages: toRecords(results),
      });
    } catch (error) {
      const problem = describeKafkaError(error);
      const message = problem.kind === "missing_topic"
        ? `Kafka topic ${this.#where} does not exist; create it (this sink never creates topics)`
        : problem.kind === "unreachable"
        ? `cannot reach Kafka for ${this.#where}: ${problem.message}`
        : `producing to ${this.#where} failed: ${problem.message}`;
      throw new DeliveryError(message, { permanent: !problem.retriable, cause: error });
    }
  }

  async close(): Promise<void> {
    await this.#producer.disconnect().catch(() => {});
  }
}
