import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import { DeliveryError } from "../sinks/sink.ts";
import { Dlq, type DlqConfig } from "./dlq.ts";
import { DlqStore } from "./store.ts";
import { SinkGate } from "./gate.ts";
import { LocalDlq } from "./api.ts";
import { FakeClock, RecordingSink, result } from "./_testing.ts";

const CONFIG: DlqConfig = {
  enabled: true,
  max_attempts: 3,
  backoff: { initial: 1000, max: 5000, multiplier: 2, jitter: 0 },
  prune_delivered_after: 0,
};

async function setup(maxBatch = 100) {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-dlq-" });
  const clock = new FakeClock();
  const dlq = new Dlq(CONFIG, { dataDir: dir, clock, log: silentLogger, metrics: new Metrics() });
  const sink = new RecordingSink("hook");
  dlq.gate(sink, maxBatch);
  return {
    dir,
    clock,
    dlq,
    sink,
    [Symbol.asyncDispose]: async () => {
      await dlq.stop();
      dlq.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** What `litejoin dlq --offline` builds: its own connection to the same dlq.db and its own sink. */
function offline(dir: string, clock: FakeClock, sink: RecordingSink, maxBatch = 100) {
  const store = new DlqStore(`${dir}/dlq.db`);
  const gates = new Map([["hook", new SinkGate(sink, maxBatch, () => {})]]);
  return new LocalDlq(store, {
    sinks: ["hook"],
    gates: () => Promise.resolve(gates),
    owner: "cli:test",
    leaseMs: 60_000,
    policy: { maxAttempts: 3, backoff: CONFIG.backoff },
    clock,
  });
}

const refused = new DeliveryError("answered 400", { permanent: true });

Deno.test("replay by id sends a dead entry now and reports it delivered", async () => {
  await using t = await setup();
  await t.dlq.onFailure("hook", [result("x")], refused);
  const [entry] = (await t.dlq.api.list({})).entries;
  assert.equal(entry.status, "dead");
  const progress: number[] = [];
  const summary = await t.dlq.api.replay({ id: entry.id }, (p) => progress.push(p.done));
  assert.deepEqual(summary, { replayed: 1, delivered: 1, failed: 0, skipped: 0 });
  assert.deepEqual(progress, [0, 1]);
  assert.deepEqual(t.sink.keys(), ["x"]);
  assert.equal((await t.dlq.api.show(entry.id)).status, "delivered");
});

Deno.test("replay of a dead entry that fails again keeps it dead and counts the attempt", async () => {
  await using t = await setup();
  await t.dlq.onFailure("hook", [result("x")], refused);
  t.sink.fail = () => "refuse";
  const summary = await t.dlq.api.replay({ all: true });
  assert.deepEqual(summary, { replayed: 1, delivered: 0, failed: 1, skipped: 0 });
  const [entry] = (await t.dlq.api.list({})).entries;
  assert.equal(entry.status, "dead");
  assert.equal(entry.attempts, 2);
});

Deno.test("replay by sink sends retrying and dead entries whatever their next attempt time", async () => {
  await using t = await setup(2);
  await t.dlq.onFailure("hook", [result("a"), result("b"), result("c")], new DeliveryError("down"));
  await t.dlq.onFailure("hook", [result("d")], refused);
  const summary = await t.dlq.api.replay({ sink: "hook" });
  assert.deepEqual(summary, { replayed: 4, delivered: 4, failed: 0, skipped: 0 });
  assert.deepEqual(t.sink.keys(), ["a", "b", "c", "d"], "in queue order");
  assert.deepEqual(t.sink.batches.map((b) => b.length), [2, 2], "in batches of max_batch");
});

Deno.test("replay refuses what it cannot send, in one line each", async () => {
  await using t = await setup();
  t.dlq.reject({ source: "kafka_in", reason: "not JSON", raw: "{" });
  await t.dlq.onFailure("hook", [result("a")], new DeliveryError("down"));
  await t.dlq.api.replay({ all: true });
  const [rejected, delivered] = (await t.dlq.api.list({})).entries;
  await assert.rejects(
    t.dlq.api.replay({ id: rejected.id }),
    new RegExp(
      `^DlqRequestError: entry ${rejected.id} is an input rejected by source kafka_in; it cannot be replayed`,
    ),
  );
  await assert.rejects(t.dlq.api.replay({ id: delivered.id }), /is delivered already$/);
  await assert.rejects(t.dlq.api.replay({ id: 999 }), /^DlqRequestError: no entry 999$/);
  await assert.rejects(
    t.dlq.api.replay({ sink: "hok" }),
    /no sink named hok is configured \(did you mean hook\?\)/,
  );
});

Deno.test("the worker and a replay from another process at once send each entry once", async () => {
  await using t = await setup(3);
  const keys = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, "0")}`);
  await t.dlq.onFailure("hook", keys.map((k) => result(k)), new DeliveryError("down"));
  t.clock.advance(1000);

  // The CLI's sink is another connection to the same peer: both record into one list.
  const cliSink = new RecordingSink("hook");
  const cli = offline(t.dir, t.clock, cliSink, 3);
  // The worker's first send stays in flight until the replay has sent something.
  const cliSent = Promise.withResolvers<void>();
  t.sink.hold = () => cliSent.promise;
  cliSink.hold = () => {
    cliSent.resolve();
    return Promise.resolve();
  };
  const [pass, summary] = await Promise.all([t.dlq.worker.runDue(), cli.replay({ all: true })]);
  cli.store.close();

  const sent = [...t.sink.keys(), ...cliSink.keys()];
  assert.deepEqual(sent.toSorted(), keys, "every entry delivered exactly once");
  assert.ok(t.sink.keys().length > 0 && cliSink.keys().length > 0, "both took part");
  assert.equal(pass.delivered + summary.delivered, keys.length);
  assert.equal(summary.skipped, pass.delivered, "the replay skipped what the worker held");
  assert.equal(t.dlq.store.count({ status: "delivered" }), keys.length);
});
