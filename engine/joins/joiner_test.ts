/** The joiner's scheduling: batches coalesce while a join is behind; joins evaluate side by side. */
import assert from "node:assert/strict";
import { createLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import { Meta } from "../store/meta.ts";
import type { Readers } from "../store/readers.ts";
import type { SinkRunner } from "../sinks/runner.ts";
import { EmittedState } from "./emitted.ts";
import type { Evaluation, Evaluator, TopicChanges } from "./evaluator.ts";
import { Joiner, type JoinTask } from "./joiner.ts";

/** An evaluator that records the keys it is given and finishes when told. */
class Gated implements Evaluator {
  readonly mode = "delta";
  readonly calls: string[][] = [];
  readonly started: PromiseWithResolvers<void>[] = [];
  release = Promise.withResolvers<void>();

  async evaluate(changes: TopicChanges): Promise<Evaluation> {
    this.calls.push([...changes.values()].flatMap((keys) => [...keys]).sort());
    this.started[this.calls.length - 1]?.resolve();
    await this.release.promise;
    return { results: [], update: new Map(), missingKeys: 0, duplicateKeys: 0 };
  }
}

async function open(count: number) {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-joiner-" });
  const meta = new Meta(`${dir}/meta.db`);
  const evaluators = Array.from({ length: count }, () => new Gated());
  const tasks: JoinTask[] = evaluators.map((evaluator, i) => ({
    definition: { name: `j${i}`, key: "k", sql: "", topics: ["orders"] },
    evaluator,
    emitted: new EmittedState(meta, `j${i}`),
    sinks: [] as SinkRunner[],
  }));
  let seq = 0;
  const joiner = new Joiner(
    tasks,
    {} as Readers,
    () => [seq],
    createLogger({ level: "error", write: () => {} }),
    new Metrics(),
  );
  const commit = (...keys: string[]) =>
    joiner.onCommit({
      shard: 0,
      seq: seq += keys.length,
      messages: keys.map((key) => ({ topic: "orders", key, payload: {}, timestamp: 0 })),
      commitMs: 0,
    });
  const close = async () => {
    await joiner.stop();
    meta.close();
    await Deno.remove(dir, { recursive: true });
  };
  return { joiner, evaluators, tasks, commit, close };
}

Deno.test("batches that commit while a join evaluates merge into its next evaluation", async () => {
  const { joiner, evaluators: [gated], tasks, commit, close } = await open(1);
  try {
    commit("a");
    assert.deepEqual(gated.calls, [["a"]]);
    commit("b");
    commit("c", "a");
    commit("b");
    assert.deepEqual(joiner.health()[0].pendingKeys, 3);
    assert.ok(joiner.health()[0].lagMs >= 0);
    gated.release.resolve();
    await joiner.drain();
    // Three batches behind the first, one evaluation for them all.
    assert.deepEqual(gated.calls, [["a"], ["a", "b", "c"]]);
    assert.deepEqual(tasks[0].emitted.progress(1), [5]);
    assert.equal(joiner.health()[0].pendingKeys, 0);
    assert.equal(joiner.health()[0].lagMs, 0);
  } finally {
    await close();
  }
});

Deno.test("joins evaluate side by side, not one after another", async () => {
  const { joiner, evaluators, commit, close } = await open(3);
  try {
    for (const e of evaluators) e.started.push(Promise.withResolvers());
    commit("a");
    // Every join's evaluation is under way before any finishes: none waits for another.
    await Promise.all(evaluators.map((e) => e.started[0].promise));
    for (const e of evaluators) e.release.resolve();
    await joiner.drain();
    assert.deepEqual(evaluators.map((e) => e.calls), [[["a"]], [["a"]], [["a"]]]);
  } finally {
    await close();
  }
});
