/**
 * Kafka source throughput, consume to commit: records waiting in a 4-partition topic of
 * the mock broker are consumed by `litejoin run`, stored in SQLite, and their offsets
 * committed. Prints one JSON line.
 *
 *   deno run -A bench/kafka.ts [--records 200000] [--concurrency 4] [--synchronous full]
 *
 * The rate is measured from the first offset commit to the last, so it leaves out the
 * consumer group join (3 s on the mock). The mock broker is not a performance proxy for
 * Kafka: the figure bounds kafkajs + LiteJoin, not a real cluster.
 */
import { parseArgs } from "node:util";
import { spawnEngine } from "../tests/_process.ts";
import { topicKeys } from "../tests/_helpers.ts";
import {
  committedOffsets,
  connectedProducer,
  endOffsets,
  FAST_GROUP_YAML,
  produce,
  startMockBroker,
  testKafka,
} from "../tests/kafka/kit.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string", default: "200000" },
    concurrency: { type: "string", default: "4" },
    synchronous: { type: "string", default: "full" },
  },
});
const RECORDS = Number(values.records);
const PARTITIONS = 4;
const SHARDS = 4;

// The mock keeps at most 5 MiB per partition: small records, and a check below.
const record = (i: number) => ({
  key: `order-${i}`,
  value: JSON.stringify({ id: `order-${i}`, customer: `c-${i % 1000}`, amount: i % 500 }),
});

await using broker = await startMockBroker({ topics: { orders: PARTITIONS } });
const { kafka } = testKafka(broker.bootstrap);
const admin = kafka.admin();
await admin.connect();
const producer = await connectedProducer(kafka);
const produceStarted = performance.now();
await produce(producer, "orders", Array.from({ length: RECORDS }, (_, i) => record(i)), 1000);
const produceSeconds = (performance.now() - produceStarted) / 1000;
await producer.disconnect();
const low = (await admin.fetchTopicOffsets("orders")).map((o) => o.low);
if (low.some((l) => l !== "0")) {
  throw new Error(`the mock dropped records (low watermarks ${low}); use fewer --records`);
}
const end = await endOffsets(admin, "orders");

const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-kafka-" });
await Deno.writeTextFile(
  `${dir}/litejoin.yaml`,
  `engine: { data_dir: ./data, shard_count: ${SHARDS}, synchronous: ${values.synchronous} }
http: { listen: "127.0.0.1:0" }
sources:
  - { name: orders_in, type: kafka, brokers: "${
    broker.bootstrap.join(",")
  }", kafka_topics: [orders],
      group_id: bench, from_beginning: true, concurrency: ${values.concurrency}, ${FAST_GROUP_YAML} }
`,
);
const started = performance.now();
const engine = await spawnEngine(dir);
try {
  let firstCommit: { at: number; committed: number } | undefined;
  let done: number | undefined;
  while (done === undefined) {
    const committed = await committedOffsets(admin, "bench", "orders");
    const total = [...committed.values()].reduce((a, b) => a + (b > 0n ? Number(b) : 0), 0);
    const now = performance.now();
    if (total > 0 && !firstCommit) firstCommit = { at: now, committed: total };
    if ([...end].every(([p, offset]) => committed.get(p) === offset)) done = now;
    else if (now - started > 300_000) throw new Error(`only ${total} of ${RECORDS} committed`);
    else await new Promise((r) => setTimeout(r, 5));
  }
  const stored = topicKeys(`${dir}/data`, "orders", SHARDS).size;
  if (stored !== RECORDS) throw new Error(`${stored} of ${RECORDS} records stored`);
  const seconds = (done - firstCommit!.at) / 1000;
  console.log(JSON.stringify({
    bench: "kafka",
    records: RECORDS,
    partitions: PARTITIONS,
    concurrency: Number(values.concurrency),
    synchronous: values.synchronous,
    consume_to_commit_per_s: Math.round((RECORDS - firstCommit!.committed) / seconds),
    seconds: Number(seconds.toFixed(2)),
    first_commit_after_start_s: Number(((firstCommit!.at - started) / 1000).toFixed(2)),
    produce_per_s: Math.round(RECORDS / produceSeconds),
  }));
} finally {
  engine.child.kill("SIGTERM");
  await engine.exited;
  await admin.disconnect();
  await Deno.remove(dir, { recursive: true });
}
