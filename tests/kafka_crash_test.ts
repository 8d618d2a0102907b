/** SIGKILL of an engine consuming Kafka: nothing is lost, and the duplicates are counted. */
import assert from "node:assert/strict";
import { queryFile, topicKeys, waitFor } from "./_helpers.ts";
import { spawnEngine } from "./_process.ts";
import {
  committedOffsets,
  connectedProducer,
  endOffsets,
  FAST_GROUP_YAML,
  produce,
  records,
  startMockBroker,
  testKafka,
} from "./kafka/kit.ts";

const SHARDS = 4;

/** Rows written to the shards so far, re-writes included: every write takes a `_seq`. */
function writes(dataDir: string): number {
  let total = 0;
  for (let i = 0; i < SHARDS; i++) {
    total += Number(
      queryFile(`${dataDir}/shard_${i}.db`, "SELECT seq FROM _litejoin_shard")[0].seq,
    );
  }
  return total;
}

Deno.test("SIGKILL while consuming Kafka loses no record; the restart repeats only uncommitted ones", async () => {
  const N = 20_000;
  await using broker = await startMockBroker({ topics: { events: 4 } });
  const { kafka } = testKafka(broker.bootstrap);
  const producer = await connectedProducer(kafka);
  const admin = kafka.admin();
  await admin.connect();
  const dir = await Deno.makeTempDir({ prefix: "litejoin-kafka-crash-" });
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    `
http: { listen: "127.0.0.1:0" }
engine: { data_dir: ./data, shard_count: ${SHARDS} }
sources:
  - { name: events_in, type: kafka, brokers: "${
      broker.bootstrap.join(",")
    }", kafka_topics: [events],
      group_id: crash, from_beginning: true, ${FAST_GROUP_YAML} }
`,
  );
  const data = `${dir}/data`;
  try {
    // Half the records wait in Kafka when the engine starts, the rest keep arriving in
    // small batches while it works through them.
    await produce(producer, "events", records(N / 2));
    let produced = N / 2;
    let producing = true;
    const feeder = (async () => {
      while (producing && produced < N) {
        await produce(producer, "events", records(200, { from: produced }));
        produced += 200;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const engine = await spawnEngine(dir);
    const exists = () => {
      try {
        return topicKeys(data, "events", SHARDS).size;
      } catch {
        return 0; // the tables are not there yet
      }
    };
    await waitFor("the engine to store a quarter of the records", () => exists() >= N / 4, 60_000);
    engine.child.kill("SIGKILL");
    await engine.exited;
    const storedAtKill = exists();
    const writtenAtKill = writes(data);
    producing = false;
    await feeder;
    await produce(producer, "events", records(N - produced, { from: produced }));

    const restarted = await spawnEngine(dir);
    try {
      await waitFor(`all ${N} records stored`, () => exists() === N, 60_000);
      const end = await endOffsets(admin, "events");
      await waitFor("offsets committed to the end", async () => {
        const committed = await committedOffsets(admin, "crash", "events");
        return [...end].every(([p, offset]) => committed.get(p) === offset);
      });
    } finally {
      restarted.child.kill("SIGTERM");
      assert.equal((await restarted.exited).code, 0, restarted.log());
    }
    const keys = topicKeys(data, "events", SHARDS);
    const lost = records(N).filter((r) => !keys.has(String(r.key)));
    const duplicates = writes(data) - N;
    console.log(
      `kafka crash: ${N} records; ${storedAtKill} stored (${writtenAtKill} writes) when killed; ` +
        `after the restart ${keys.size} stored, ${lost.length} lost, ${duplicates} duplicate(s) ` +
        `(records stored before the kill whose offsets were not yet committed)`,
    );
    assert.equal(lost.length, 0);
    assert.ok(duplicates >= 0);
  } finally {
    await producer.disconnect();
    await admin.disconnect();
    await Deno.remove(dir, { recursive: true });
  }
});
