import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import { DeliveryError } from "../sinks/sink.ts";
import { Dlq, type DlqConfig } from "./dlq.ts";
import { FakeClock, RecordingSink, result } from "./_testing.ts";

const CONFIG: DlqConfig = {
  enabled: true,
  max_attempts: 4,
  backoff: { initial: 1000, max: 5000, multiplier: 2, jitter: 0 },
  prune_delivered_after: 3_600_000,
};

async function withDlq(
  fn: (
    t: { dlq: Dlq; clock: FakeClock; sink: RecordingSink; live: ReturnType<Dlq["gate"]> },
  ) => Promise<void>,
  opts: { config?: Partial<DlqConfig>; maxBatch?: number } = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-dlq-" });
  const clock = new FakeClock();
  const dlq = new Dlq({ ...CONFIG, ...opts.config }, {
    dataDir: dir,
    clock,
    log: silentLogger,
    metrics: new Metrics(),
    random: () => 0.5,
  });
  const sink = new RecordingSink("hook");
  const live = dlq.gate(sink, opts.maxBatch ?? 100);
  try {
    await fn({ dlq, clock, sink, live });
  } finally {
    await dlq.stop();
    dlq.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const down = new DeliveryError("connection refused");

Deno.test("retry worker backs off exponentially per entry, then marks it dead", () =>
  withDlq(async ({ dlq, clock, sink }) => {
    const t0 = clock.now();
    sink.fail = () => "down";
    await dlq.onFailure("hook", [result("a")], down);
    const [entry] = dlq.store.list({}, { limit: 1, offset: 0 });
    assert.equal(entry.status, "retrying");
    assert.equal(entry.next_attempt_at, t0 + 1000, "first retry after backoff.initial");

    const attemptsAt: number[] = [];
    for (let t = t0; t <= t0 + 20_000; t += 250) {
      clock.t = t;
      const before = sink.attempts.length;
      await dlq.worker.runDue();
      if (sink.attempts.length > before) attemptsAt.push(t - t0);
    }
    // 1s, then 2s and 4s later; the 4th failed attempt (the inline one counts) is the last.
    assert.deepEqual(attemptsAt, [1000, 3000, 7000]);
    const dead = dlq.store.get(entry.id)!;
    assert.equal(dead.status, "dead");
    assert.equal(dead.attempts, 4);
    assert.equal(dead.next_attempt_at, null);
    assert.equal(dead.last_failed_at, t0 + 7000);
    assert.equal(dead.error, "peer is down");
  }));

Deno.test("retry worker doubles each delay up to backoff.max", () =>
  withDlq(async ({ dlq, clock, sink }) => {
    sink.fail = () => "down";
    await dlq.onFailure("hook", [result("a")], down);
    const id = dlq.store.list({}, { limit: 1, offset: 0 })[0].id;
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      clock.t = dlq.store.get(id)!.next_attempt_at!;
      await dlq.worker.runDue();
      const next = dlq.store.get(id)!.next_attempt_at;
      if (next) waits.push(next - clock.t);
    }
    assert.deepEqual(waits, [2000, 4000, 5000, 5000, 5000, 5000]);
  }, { config: { max_attempts: 100 } }));

Deno.test("retry worker applies jitter as a random fraction of each delay", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new FakeClock();
  const draws = [0, 1];
  const dlq = new Dlq({ ...CONFIG, backoff: { ...CONFIG.backoff, jitter: 0.5 } }, {
    dataDir: dir,
    clock,
    log: silentLogger,
    metrics: new Metrics(),
    random: () => draws.shift()!,
  });
  dlq.gate(new RecordingSink("hook"), 10);
  await dlq.onFailure("hook", [result("a")], down);
  await dlq.onFailure("hook", [result("b")], down);
  const [a, b] = dlq.store.list({}, { limit: 2, offset: 0 });
  assert.equal(a.next_attempt_at! - clock.now(), 500, "half the delay fixed, none drawn");
  assert.equal(b.next_attempt_at! - clock.now(), 1000, "half fixed, all of the other half drawn");
  dlq.close();
});

Deno.test("retry worker honours a peer's Retry-After when it is longer than the backoff", () =>
  withDlq(async ({ dlq, clock, sink }) => {
    await dlq.onFailure("hook", [result("a")], down);
    sink.fail = () => new DeliveryError("429", { retryAfterMs: 30_000 });
    clock.advance(1000);
    await dlq.worker.runDue();
    const entry = dlq.store.list({}, { limit: 1, offset: 0 })[0];
    assert.equal(entry.next_attempt_at, clock.now() + 30_000);
  }));

Deno.test("a permanently refused result goes dead alone; the rest of its batch is delivered", () =>
  withDlq(async ({ dlq, clock, sink }) => {
    const keys = ["a", "b", "bad", "c", "d", "e", "f"];
    await dlq.onFailure("hook", keys.map((k) => result(k)), down);
    sink.fail = (batch) => batch.some((r) => r.key === "bad") ? "refuse" : undefined;
    clock.advance(1000);
    const outcome = await dlq.worker.runDue();
    assert.equal(outcome.delivered, 6);
    assert.equal(outcome.dead, 1);
    assert.deepEqual(sink.keys().sort(), ["a", "b", "c", "d", "e", "f"]);
    assert.ok(sink.attempts.length <= 7, `bisection, not one send per entry twice over`);
    const stats = await dlq.api.stats();
    assert.deepEqual(stats.by_sink.hook, {
      retrying: 0,
      dead: 1,
      delivered: 6,
      oldest_failed_at: clock.now() - 1000,
    });
    const [bad] = (await dlq.api.list({ status: "dead" })).entries;
    assert.equal(bad.key, "bad");
    assert.equal(bad.error, "answered 400");
  }));

Deno.test("a single result refused for good is dead at once, before any retry", () =>
  withDlq(async ({ dlq }) => {
    await dlq.onFailure("hook", [result("x")], new DeliveryError("400", { permanent: true }));
    assert.equal((await dlq.api.list({})).entries[0].status, "dead");
  }));

Deno.test("while a sink's peer is down, one batch probes it per backoff step", () =>
  withDlq(async ({ dlq, clock, sink }) => {
    await dlq.onFailure("hook", Array.from({ length: 10 }, (_, i) => result(`k${i}`)), down);
    sink.fail = () => "down";
    clock.advance(1000);
    await dlq.worker.runDue();
    assert.equal(sink.attempts.length, 1, "one probe batch, not five");
    assert.deepEqual(sink.attempts[0].map((r) => r.key), ["k0", "k1"]);
    assert.equal(dlq.worker.nextPassAt(), clock.now() + 1000, "next probe after backoff(1)");
    await dlq.worker.runDue();
    assert.equal(sink.attempts.length, 1, "paused until then");
    sink.fail = () => undefined;
    clock.advance(1000);
    await dlq.worker.runDue();
    clock.advance(2000);
    await dlq.worker.runDue();
    assert.deepEqual(sink.keys().sort(), Array.from({ length: 10 }, (_, i) => `k${i}`).sort());
    assert.equal((await dlq.api.stats()).by_sink.hook.retrying, 0);
  }, { maxBatch: 2 }));

Deno.test("a newer live delivery supersedes a queued older result for the same key", () =>
  withDlq(async ({ dlq, clock, sink, live }) => {
    await dlq.onFailure("hook", [result("k", { v: 1 }), result("other")], down);
    await live.send([result("k", { v: 2 })]);
    clock.advance(1000);
    await dlq.worker.runDue();
    assert.deepEqual(sink.batches.flat().map((r) => `${r.key}:${r.row.v ?? "-"}`), [
      "k:2",
      "other:-",
    ]);
    const k1 = (await dlq.api.list({})).entries.find((e) => e.key === "k")!;
    assert.equal(k1.status, "delivered");
    assert.equal(k1.superseded, true);
  }));

Deno.test("a redelivery waiting for the sink never lands after a newer live result", () =>
  withDlq(async ({ dlq, clock, sink, live }) => {
    await dlq.onFailure("hook", [result("k", { v: 1 })], down);
    clock.advance(1000);
    // A live send of a newer value is in flight when the worker claims the old one.
    const release = Promise.withResolvers<void>();
    sink.hold = () => release.promise;
    const sending = live.send([result("k", { v: 2 })]);
    const pass = dlq.worker.runDue();
    await new Promise((r) => setTimeout(r, 10));
    sink.hold = () => Promise.resolve();
    release.resolve();
    await sending;
    const outcome = await pass;
    assert.equal(outcome.superseded, 1);
    assert.deepEqual(sink.batches.flat().map((r) => r.row.v), [2]);
  }));

Deno.test("a redelivery already sending holds back a newer live result until it is done", () =>
  withDlq(async ({ dlq, clock, sink, live }) => {
    await dlq.onFailure("hook", [result("k", { v: 1 })], down);
    clock.advance(1000);
    const release = Promise.withResolvers<void>();
    sink.hold = () => release.promise;
    const pass = dlq.worker.runDue();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(sink.attempts.length, 1, "the redelivery is in flight");
    const sending = live.send([result("k", { v: 2 })]);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(sink.attempts.length, 1, "the live send waits for it");
    sink.hold = () => Promise.resolve();
    release.resolve();
    await Promise.all([pass, sending]);
    assert.deepEqual(sink.batches.flat().map((r) => r.row.v), [1, 2]);
  }));

Deno.test("retry worker prunes delivered entries after prune_delivered_after", () =>
  withDlq(async ({ dlq, clock }) => {
    await dlq.onFailure("hook", [result("a")], down);
    clock.advance(1000);
    await dlq.worker.runDue();
    assert.equal(dlq.store.count({ status: "delivered" }), 1);
    clock.advance(3_600_000);
    await dlq.worker.runDue();
    assert.equal(dlq.store.count({ status: "delivered" }), 1, "exactly the age is kept");
    clock.advance(60_000);
    await dlq.worker.runDue();
    assert.equal(dlq.store.count({}), 0);
  }));

Deno.test("retry worker started on timers drains the queue by itself", () =>
  withDlq(async ({ dlq, sink }) => {
    await dlq.onFailure("hook", [result("a"), result("b")], down);
    const clock = dlq.opts.clock as FakeClock;
    clock.advance(1000);
    dlq.start();
    const deadline = Date.now() + 5000;
    while (sink.keys().length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(sink.keys(), ["a", "b"]);
  }));

Deno.test("failed results wait for dlq.db to be writable rather than being lost", () =>
  withDlq(async ({ dlq }) => {
    const add = dlq.store.add.bind(dlq.store);
    let refusals = 2;
    dlq.store.add = (...args) => {
      if (refusals-- > 0) throw new Error("database or disk is full");
      return add(...args);
    };
    await dlq.onFailure("hook", [result("a")], down);
    assert.equal(refusals, -1, "written on the third try");
    assert.deepEqual((await dlq.api.list({})).entries.map((e) => e.key), ["a"]);
  }));

Deno.test("a gated sink is wrapped, not changed: live sends go through the gate to the sink itself", () =>
  withDlq(async ({ sink, live }) => {
    assert.notEqual(live, sink);
    assert.equal(live.name, sink.name);
    assert.equal(sink.send, RecordingSink.prototype.send, "the sink keeps its own send");
    await live.send([result("a")]);
    assert.deepEqual(sink.keys(), ["a"]);
  }));
