/**
 * The randomized differential test of joins and windows (issue 18's proof): a seeded
 * workload of inserts, updates and deletes over HTTP and API sources, expiries, SIGKILLs
 * at random moments and a graceful restart; then every join's `mode: auto` table equals
 * its `mode: full` table equals its SQL run over the final topics, and every delivered
 * window equals its SQL over the final data. `LITEJOIN_DIFF_SEED=<n>` repeats a workload.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { EngineUnderTest, joinModes, openTopics, readTopic } from "./_differential.ts";
import { checkJoins, checkWindows, timeless } from "./_differential_check.ts";
import {
  CLOCK_BOUND_S,
  differentialConfig,
  JOINS,
  variantName,
  WINDOWS,
} from "./_differential_queries.ts";
import {
  API_TOPICS,
  type ModelServer,
  type Post,
  Rng,
  serveModel,
  Workload,
} from "./_differential_workload.ts";
import { waitFor } from "./_helpers.ts";

const ROUNDS = 6;
const WAVES = 6;
const CRASHES = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const canonical = (value: unknown): string =>
  JSON.stringify(
    value,
    (_, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
        : v,
  );

/**
 * Sends a wave's posts at once. With `crashAfterMs`, SIGKILLs the engine meanwhile,
 * restarts it, and posts again what it may not have stored.
 */
async function send(
  engine: EngineUnderTest,
  workload: Workload,
  posts: Post[],
  crashAfterMs?: number,
) {
  const sent = Promise.all(posts.map(async (post) => ({ post, ok: await engine.post(post) })));
  if (crashAfterMs !== undefined) {
    await sleep(crashAfterMs);
    await engine.crash();
  }
  const lost = (await sent).filter((s) => !s.ok).map((s) => s.post);
  if (lost.length && crashAfterMs === undefined) throw new Error(`posts refused: ${lost.length}`);
  for (const { topic, messages } of lost) {
    // The latest version of each key: a later wave has not touched it yet.
    const latest = messages.map((m) => workload.model[topic].get(m.id) ?? m);
    assert.ok(await engine.post({ topic, messages: latest }), `re-post to ${topic} after restart`);
  }
}

/** Waits until each API source has committed the model as it is now: the topics hold it exactly. */
async function converge(engine: EngineUnderTest, model: ModelServer, workload: Workload) {
  await Promise.all(API_TOPICS.map(async (topic) => {
    let polled = false;
    const caughtUp = model.caughtUp(topic).then(() => polled = true);
    await waitFor(`${topic}_api to poll the model twice`, () => polled, 20_000);
    await caughtUp;
  }));
  for (const topic of API_TOPICS) {
    const want = new Map([...workload.model[topic]].map(([k, v]) => [k, canonical(v)]));
    let got = new Map<string, string>();
    await waitFor(`topic ${topic} to hold the model`, () => {
      got = new Map([...readTopic(engine.dir, topic)].map(([k, v]) => [k, canonical(v.payload)]));
      return got.size === want.size && [...want].every(([k, v]) => got.get(k) === v);
    }, 10_000).catch((error) => {
      const diff = [...new Set([...want.keys(), ...got.keys()])]
        .filter((k) => want.get(k) !== got.get(k)).slice(0, 5)
        .map((k) => `${k}: model ${want.get(k)}, topic ${got.get(k)}`);
      throw new Error(`${error.message}: ${diff.join("; ")}`);
    });
  }
  workload.converged();
}

Deno.test("differential: delta results equal full results equal the SQL over the final topics, through random changes, expiries and restarts", async () => {
  const seed = Number(
    Deno.env.get("LITEJOIN_DIFF_SEED") ?? crypto.getRandomValues(new Uint32Array(1))[0],
  );
  console.log(`differential: seed ${seed} (repeat with LITEJOIN_DIFF_SEED=${seed})`);
  try {
    await differential(seed);
  } catch (error) {
    (error as Error).message = `seed ${seed} (repeat with LITEJOIN_DIFF_SEED=${seed}): ${
      (error as Error).message
    }`;
    throw error;
  }
});

async function differential(seed: number): Promise<void> {
  const rng = new Rng(seed);
  const workload = new Workload(rng);
  const model = await serveModel(workload);
  const dir = await Deno.makeTempDir({ prefix: "litejoin-diff-" });
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, differentialConfig(model.url));
  const variants = JOINS.flatMap((j) => [variantName(j, "auto"), variantName(j, "full")]);
  const engine = await EngineUnderTest.start(dir, variants);
  let passed = false;
  try {
    const modes = joinModes(engine.log());
    for (const join of JOINS) {
      const m = modes.get(join.name);
      console.log(
        `  join ${join.name}: auto runs in ${m?.mode ?? "?"} (${m?.reason ?? "not logged"})`,
      );
    }
    const plan = new Set<number>();
    while (plan.size < CRASHES) plan.add(rng.int(0, ROUNDS * WAVES - 1));
    const gracefulAfter = rng.int(0, ROUNDS - 2);
    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0) {
        await send(engine, workload, [{ topic: "readings", messages: [workload.nextRound()] }]);
      }
      for (let wave = 0; wave < WAVES; wave++) {
        const posts = workload.wave(rng.int(8, 20));
        const crash = plan.has(round * WAVES + wave) ? rng.int(0, 60) : undefined;
        await send(engine, workload, posts, crash);
        if (wave === Math.floor(WAVES / 2)) await converge(engine, model, workload);
      }
      await converge(engine, model, workload);
      await engine.settle();
      // A checkpoint: with nothing in flight, every join that does not move with the clock matches.
      const failures = withResults(
        dir,
        (topics, sinks) => checkJoins(topics, sinks, JOINS.filter(timeless), Date.now()).failures,
      );
      if (failures.length) throw new Error(`after round ${round}:\n${failures.join("\n")}`);
      if (round === gracefulAfter) await engine.restart();
    }
    // The next round's first reading closes the last round's windows.
    await send(engine, workload, [{ topic: "readings", messages: [workload.nextRound()] }]);
    await converge(engine, model, workload);
    const openFrom = Workload.roundBase(workload.round);
    await waitFor(
      "every reading to be in a delivered window",
      () =>
        withResults(
          dir,
          (topics, sinks) =>
            checkWindows(topics, sinks, WINDOWS, openFrom).failures.every((f) =>
              !/in no delivered window/.test(f)
            ),
        ),
      20_000,
    ).catch(() => {/* the final check names what is missing */});

    const nowMs = await finalState(engine, model, workload);

    const failures = withResults(dir, (topics, sinks) => {
      const joins = checkJoins(topics, sinks, JOINS, nowMs);
      const windows = checkWindows(topics, sinks, WINDOWS, openFrom);
      const { orders, customers, readings } = workload.model;
      console.log(
        `differential: ${ROUNDS} rounds, ${CRASHES} SIGKILLs, 1 graceful restart; ` +
          `${orders.size} orders, ${customers.size} customers, ${readings.size} readings; ` +
          `rows at the end: ${[...joins.rows].map(([j, n]) => `${j} ${n}`).join(", ")}; ` +
          `windows checked: ${[...windows.checked].map(([w, n]) => `${w} ${n}`).join(", ")}`,
      );
      return [...joins.failures, ...windows.failures];
    });
    for (const join of JOINS) {
      const mode = modes.get(join.name)?.mode;
      if (join.expectedMode && mode !== join.expectedMode) {
        failures.push(`${join.name}: runs in ${mode}, expected ${join.expectedMode}`);
      }
    }
    if (failures.length) throw new Error(failures.join("\n"));
    passed = true;
  } finally {
    if (engine.running) await engine.stop().catch(() => {});
    await model.stop();
    if (passed) await Deno.remove(dir, { recursive: true });
    else console.log(`differential: data, results and engine logs kept in ${dir}`);
  }
}

/** Runs `check` on the topics (as joins see them) and the sink's tables, read-only. */
function withResults<T>(dir: string, check: (topics: DatabaseSync, sinks: DatabaseSync) => T): T {
  const topics = openTopics(dir, ["orders", "customers", "clicks", "readings"]);
  const sinks = new DatabaseSync(`${dir}/results.db`, { readOnly: true });
  try {
    return check(topics, sinks);
  } finally {
    topics.close();
    sinks.close();
  }
}

/**
 * Brings the engine to a final state that the SQL can be pinned to: every older order
 * past the clock bound and every click expired, then a batch of fresh orders and clicks
 * (which every join over them evaluates), delivered, and the engine stopped. Returns the
 * moment the clock is pinned to: the latest fresh order's timestamp. If the engine was
 * slow enough that a fresh row crossed the bound or expired before it stopped, starts
 * it again and repeats (at most four times).
 */
async function finalState(
  engine: EngineUnderTest,
  model: ModelServer,
  workload: Workload,
): Promise<number> {
  for (let attempt = 1;; attempt++) {
    await waitFor(
      "every click to expire",
      () => readTopic(engine.dir, "clicks").size === 0,
      20_000,
    );
    const orders = readTopic(engine.dir, "orders");
    const newest = Math.max(...[...orders.values()].map((o) => o.timestamp));
    await sleep(newest + CLOCK_BOUND_S * 1000 + 1_100 - Date.now());
    const fresh = workload.freshRows(4);
    await send(engine, workload, fresh);
    await converge(engine, model, workload);
    await engine.settle();
    await engine.stop();
    const stoppedAt = Date.now();
    const after = readTopic(engine.dir, "orders");
    const stamps = fresh[0].messages.map((m) => after.get(m.id)!.timestamp);
    const clicks = readTopic(engine.dir, "clicks");
    const inTime = stoppedAt < Math.min(...stamps) + CLOCK_BOUND_S * 1000 &&
      fresh[1].messages.every((m) => clicks.has(m.id));
    if (inTime) return Math.max(...stamps);
    if (attempt === 4) throw new Error("fresh rows aged before the engine stopped, 4 times");
    console.log(
      `differential: fresh rows aged before the engine stopped; again (attempt ${attempt + 1})`,
    );
    await engine.resume();
  }
}
