/**
 * Kafka source: a member of a consumer group that writes the JSON records of its
 * partitions to a topic, at least once. A partition's offset is committed only after
 * the SQLite commit that holds its records, so a crash repeats at most the records
 * stored since the last offset commit and never skips one. Engines that share a
 * `group_id` share the partitions.
 *
 * A record that is not a JSON object or has no key is kept in the dead-letter queue and
 * counted, and its partition moves on. A partition pauses while the writer is behind
 * and resumes once the backlog has halved. Connection problems (broker unreachable,
 * topic missing, consumer crashed) are logged in one line and retried for ever.
 */
import type { Consumer, EachBatchPayload } from "kafkajs";
import { boolean, type Infer, integer, list, object, oneOf, string } from "../schema/schema.ts";
import { backoffSpec, dottedPath } from "../schema/common.ts";
import { topicName, topicNameProblem } from "../store/topics.ts";
import { duration } from "../schema/units.ts";
import { backoffDelay, sleep } from "../backoff.ts";
import { clientFields, createKafka, describeKafkaError, kafkaTopic } from "../kafka/client.ts";
import { BacklogError } from "../store/writer.ts";

import type { Message } from "../types.ts";
import type { RejectedInput } from "../dlq/entry.ts";
import { OffsetCommitter } from "./_kafka_offsets.ts";
import { type DecodeOptions, decodeRecord } from "./_kafka_record.ts";
import type { Source, SourceContext } from "./source.ts";

export const spec = object({
  ...clientFields(),
  kafka_topics: list(kafkaTopic(), { min: 1 }).describe(
    "Kafka topics to consume. They must exist: this source never creates topics.",
    ["orders"],
  ),
  topic: topicName().optional().describe(
    "Topic the messages are written to. Default: the Kafka topic's name; required when there are " +
      "several Kafka topics, or the name is not a valid topic name.",
  ),
  group_id: string().optional().describe(
    "Consumer group; engines in one group share the partitions. Default: litejoin-<source name>.",
  ),
  from_beginning: boolean().default(false).describe(
    "Where a group without committed offsets starts: the oldest record (true) or new ones (false).",
  ),
  key: dottedPath().optional().describe(
    "Dotted path of the key in the payload. Default: the Kafka record key.",
    "order.id",
  ),
  timestamp: oneOf(["ingest", "kafka"] as const).default("ingest").describe(
    "The message timestamp: when it was stored (ingest) or the Kafka record's timestamp (kafka).",
  ),
  session_timeout: duration().default(30_000).describe(
    "A member silent this long is dropped from the group and its partitions reassigned.",
  ),
  heartbeat_interval: duration().default(3000).describe(
    "How often the member tells the group it is alive; below session_timeout.",
  ),
  rebalance_timeout: duration().default(60_000).describe(
    "Time members have to rejoin when the group rebalances.",
  ),
  max_wait: duration().default(500).describe(
    "Longest a fetch waits for new records; it also bounds how long stopping takes.",
  ),
  concurrency: integer({ min: 1, max: 64 }).default(4).describe(
    "Partitions processed at once; their records share SQLite commits.",
  ),
  reconnect: backoffSpec({ initial: 1000, max: 30_000 }).describe(
    "Delay between attempts to reach the cluster again after a failure.",
  ),
}).check((c) => {
  if (c.heartbeat_interval >= c.session_timeout) {
    return `heartbeat_interval (${c.heartbeat_interval} ms) must be below session_timeout (${c.session_timeout} ms)`;
  }
  if (c.topic !== undefined) return undefined;
  if (c.kafka_topics.length > 1) {
    return "reads several Kafka topics: set topic, the topic they are written to";
  }
  const problem = topicNameProblem(c.kafka_topics[0]);
  return problem
    ? `set topic: the Kafka topic name ${c.kafka_topics[0]} cannot be a topic here (${problem})`
    : undefined;
});

export type KafkaSourceConfig = Infer<typeof spec>;

/** The topic a Kafka source writes to. */
export const targetTopic = (c: KafkaSourceConfig): string => c.topic ?? c.kafka_topics[0];

const UTF8 = new TextDecoder();

/** Polling period while a paused partition waits for the writer to catch up. */
const RESUME_CHECK_MS = 20;
/** At most one warning about failed offset commits per this many milliseconds. */
const COMMIT_WARNING_MS = 10_000;

export class KafkaSource implements Source {
  readonly #kafka;
  readonly #groupId: string;
  readonly #decode: DecodeOptions;
  readonly #where: string;
  #consumer: Consumer | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  readonly #abort = new AbortController();
  readonly #resumeTimers = new Set<ReturnType<typeof setTimeout>>();
  readonly #lag = new Map<string, number>();
  readonly #batches = new Set<Promise<void>>();
  readonly #offsets: OffsetCommitter;
  #lastCommitWarning = -Infinity;
  /** The last connection failure's line, until the consumer joins its group again. */
  #failing: string | undefined;
  readonly #metrics;

  constructor(
    readonly name: string,
    readonly config: KafkaSourceConfig,
    readonly ctx: SourceContext,
  ) {
    this.#kafka = createKafka(config, ctx.log);
    this.#groupId = config.group_id ?? `litejoin-${name}`;
    this.#decode = { topic: targetTopic(config), key: config.key, timestamp: config.timestamp };
    this.#where = config.brokers.join(",");
    const m = ctx.metrics;
    const source = { source: name };
    const lag = m.gauge(
      "litejoin_source_kafka_lag_messages",
      "Records in assigned partitions not yet consumed, as of the last fetch, by source.",
    );
    lag.collect(() => lag.set(source, [...this.#lag.values()].reduce((a, b) => a + b, 0)));
    this.#metrics = {
      messages: m.counter(
        "litejoin_source_messages_total",
        "Messages committed to topics, by source.",
      ).bind(source),
      rejected: m.counter(
        "litejoin_source_rejected_total",
        "Input refused and kept for inspection (not JSON, not an object, no key), by source and reason.",
      ),
      paused: m.counter(
        "litejoin_source_kafka_paused_total",
        "Times a partition paused because the writer was behind, by source.",
      ).bind(source),
      errors: m.counter(
        "litejoin_source_kafka_errors_total",
        "Failures to reach or stay in the consumer group, by source and kind.",
      ),
      member: m.gauge(
        "litejoin_source_kafka_member",
        "1 while the source is a member of its consumer group, else 0, by source.",
      ),
    };
    this.#metrics.member.set(source, 0);
    this.#offsets = new OffsetCommitter((error, count) => {
      const now = ctx.clock.now();
      if (now - this.#lastCommitWarning < COMMIT_WARNING_MS) return;
      this.#lastCommitWarning = now;
      ctx.log.warn(
        `could not commit the offsets of ${count} partition(s): ${
          describeKafkaError(error).message
        }; ` +
          "their stored records may be read again after a restart",
      );
    });
  }

  /** Starts reaching the cluster in the background: the engine starts even when it is down. */
  start(): Promise<void> {
    this.ctx.log.info(
      `consuming ${this.config.kafka_topics.join(", ")} from ${this.#where} ` +
        `(group ${this.#groupId}) into topic ${this.#decode.topic}`,
    );
    this.#loop = this.#supervise();
    return Promise.resolve();
  }

  /** Connects, subscribes and consumes; after any failure, waits and starts over. */
  async #supervise(): Promise<void> {
    let attempt = 0;
    while (!this.#stopping) {
      const consumer = this.#kafka.consumer({
        groupId: this.#groupId,
        sessionTimeout: this.config.session_timeout,
        heartbeatInterval: this.config.heartbeat_interval,
        rebalanceTimeout: this.config.rebalance_timeout,
        maxWaitTimeInMs: this.config.max_wait,
        allowAutoTopicCreation: false,
        // kafkajs never restarts on its own: this loop does, and says why.
        retry: {
          retries: 3,
          initialRetryTime: 250,
          maxRetryTime: 5000,
          restartOnFailure: () => Promise.resolve(false),
        },
      });
      this.#consumer = consumer;
      const crashed = Promise.withResolvers<Error>();
      consumer.on(consumer.events.CRASH, ({ payload }) => crashed.resolve(payload.error));
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        attempt = 0;
        this.#failing = undefined;
        this.#lag.clear();
        this.#metrics.member.set({ source: this.name }, 1);
        const assigned = Object.entries(payload.memberAssignment)
          .map(([topic, partitions]) => `${topic}[${partitions.join(",")}]`).join(" ");
        this.ctx.log.info(`joined group ${this.#groupId}; partitions: ${assigned || "none"}`);
      });
      let failure: { what: string; error: unknown } | undefined;
      try {
        await consumer.connect();
        for (const topic of this.config.kafka_topics) {
          if (this.#stopping) break;
          try {
            await consumer.subscribe({
              topics: [topic],
              fromBeginning: this.config.from_beginning,
            });
          } catch (error) {
            throw Object.assign(new Error("subscribe failed", { cause: error }), { topic });
          }
        }
        if (!this.#stopping) {
          await consumer.run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            partitionsConsumedConcurrently: this.config.concurrency,
            eachBatch: (payload) => this.#track(this.#onBatch(payload)),
          });
          const error = await Promise.race([crashed.promise, this.#stopped()]);
          if (error) failure = { what: "consumer stopped", error };
        }
      } catch (error) {
        failure = { what: "", error };
      }
      this.#metrics.member.set({ source: this.name }, 0);
      // When stopping, `stop` disconnects, once the offsets of stored records are committed.
      if (!failure || this.#stopping) break;
      this.#offsets.clear();
      await consumer.disconnect().catch(() => {});
      const delay = backoffDelay(this.config.reconnect, ++attempt);
      this.#report(failure.what, failure.error, delay);
      await sleep(delay, this.#abort.signal);
    }
  }

  /** Why the consumer is not consuming: its last failure, until it joins its group again. */
  failing(): string | undefined {
    return this.#failing;
  }

  #stopped(): Promise<undefined> {
    return new Promise((resolve) => {
      if (this.#abort.signal.aborted) resolve(undefined);
      this.#abort.signal.addEventListener("abort", () => resolve(undefined), { once: true });
    });
  }

  /** One line per failure: what, where, and when the next attempt is. */
  #report(what: string, error: unknown, delayMs: number): void {
    const topic = (error as { topic?: string }).topic;
    const problem = describeKafkaError(error);
    this.#metrics.errors.inc({ source: this.name, kind: problem.kind });
    const retry = `retrying in ${(delayMs / 1000).toFixed(1)}s`;
    let line: string;
    if (problem.kind === "missing_topic") {
      line = `Kafka topic ${topic ?? this.config.kafka_topics.join(", ")} does not exist at ` +
        `${this.#where}; create it (this source never creates topics); ${retry}`;
    } else if (problem.kind === "unreachable") {
      line = `cannot reach Kafka at ${this.#where}: ${problem.message}; ${retry}`;
    } else if (problem.kind === "local") {
      line = `${what ? `${what}: ` : ""}${problem.message}; ${retry}`;
    } else {
      line = `${what ? `${what}: ` : ""}Kafka at ${this.#where}: ${problem.message}; ${retry}`;
    }
    this.ctx.log.error(line);
    this.#failing = line;
  }

  #track(batch: Promise<void>): Promise<void> {
    this.#batches.add(batch);
    return batch.finally(() => this.#batches.delete(batch));
  }

  async #onBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    if (this.#stopping || batch.isEmpty()) return;
    const partitionId = `${batch.topic}/${batch.partition}`;
    const now = this.ctx.clock.now();
    const messages: Message[] = [];
    const rejected: RejectedInput[] = [];
    for (const record of batch.messages) {
      const decoded = decodeRecord(record, this.#decode, now);
      if ("reason" in decoded) {
        rejected.push({
          source: this.name,
          reason: decoded.message,
          raw: record.value ? new Uint8Array(record.value) : "",
          key: record.key ? UTF8.decode(record.key) : undefined,
          detail: { topic: batch.topic, partition: batch.partition, offset: record.offset },
        });
        this.#metrics.rejected.inc({ source: this.name, reason: decoded.reason });
      } else {
        messages.push(decoded);
      }
    }
    try {
      await this.ctx.writer.write(messages);
    } catch (error) {
      if (error instanceof BacklogError) return this.#holdBack(p.pause, partitionId);
      // kafkajs retries the batch, then reports a crash, and the supervisor reconnects
      // from the committed offsets.
      throw error;
    }
    if (rejected.length) {
      // Kept before the offsets move past them (the DLQ resolves after its commit).
      for (const input of rejected) await this.ctx.dlq?.reject(input);
      this.ctx.log.warn(
        `${rejected.length} record(s) of ${partitionId} refused and kept in the DLQ ` +
          `(litejoin dlq list --status rejected), first at offset ${rejected[0].detail!.offset}: ` +
          rejected[0].reason,
      );
    }
    for (const record of batch.messages) p.resolveOffset(record.offset);
    // Only now, with the records stored, may their offsets be committed. The offset
    // committed is the next one to read. The commit goes to the group coordinator
    // directly, so it is sent even while the consumer stops.
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    this.#offsets.stored(batch.topic, batch.partition, next, p.commitOffsetsIfNecessary);
    this.#metrics.messages.inc(messages.length);
    this.#lag.set(partitionId, Number(batch.offsetLag()));
  }

  /** Pauses the partition until the writer's backlog has halved; the batch is fetched again. */
  #holdBack(pause: () => () => void, partitionId: string): void {
    const resume = pause();
    this.#metrics.paused.inc();
    const writer = this.ctx.writer;
    this.ctx.log.debug(`writer behind (${writer.backlog} waiting): pausing ${partitionId}`);
    const check = () => {
      this.#resumeTimers.delete(timer);
      if (this.#stopping) return;
      if (writer.backlog <= writer.options.maxBacklog / 2) resume();
      else this.#resumeTimers.add(timer = setTimeout(check, RESUME_CHECK_MS));
    };
    let timer = setTimeout(check, RESUME_CHECK_MS);
    this.#resumeTimers.add(timer);
  }

  /**
   * Stops taking batches, lets those in flight finish, commits the offsets of every
   * stored record, then leaves the group and disconnects.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    for (const timer of this.#resumeTimers) clearTimeout(timer);
    this.#resumeTimers.clear();
    await Promise.allSettled([...this.#batches]);
    await this.#offsets.drain();
    await this.#consumer?.disconnect().catch(() => {});
    await this.#loop;
    // The loop may have been connecting a new consumer meanwhile.
    await this.#consumer?.disconnect().catch(() => {});
  }
}
