/**
 * A join bounded by the clock (the default `litejoin.yaml` join: orders of the last hour
 * with their customer), by delta against full re-execution. Prints one JSON line.
 *
 *   deno run -A bench/clock_join.ts [--sizes 10000,100000] [--batches 5]
 *
 * For each size N: N orders with timestamps spread over the last hour, 50 customers.
 * - delta_batch_ms: a batch of 100 new orders, evaluated and recorded as the joiner does
 * - delta_tick_ms: the clock moves one second with no new data: the evaluation that
 *   finds the orders that crossed the bound (about N/3600) and retracts them
 * - full_ms: the whole query re-run and diffed at the same now (what mode: full costs)
 * Figures are medians over the batches.
 */
import { parseArgs } from "node:util";
import { Writer } from "../engine/store/writer.ts";
import { Readers } from "../engine/store/readers.ts";
import { Meta } from "../engine/store/meta.ts";
import { analyzeDelta } from "../engine/joins/delta_plan.ts";
import { EmittedState } from "../engine/joins/emitted.ts";
import { type Evaluator, FullEvaluator } from "../engine/joins/evaluator.ts";
import { clockEvaluator, NowReaders } from "../engine/joins/clock_evaluator.ts";
import { bindClock } from "../engine/joins/clock_rewrite.ts";
import type { Message } from "../engine/types.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "10000,100000" },
    batches: { type: "string", default: "5" },
  },
});
const SIZES = values.sizes.split(",").map(Number);
const BATCHES = Number(values.batches);
const SHARDS = 4;
const TOPICS = ["customers", "orders"];
const HOUR = 3_600_000;
const SQL = `
  SELECT o.key AS order_id, json_extract(o.payload, '$.amount') AS amount,
         c.key AS customer_id, json_extract(c.payload, '$.name') AS customer
  FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
  WHERE o.timestamp > (strftime('%s', 'now') - 3600) * 1000`;

const analysis = analyzeDelta(SQL, TOPICS);
if (!analysis.exact) throw new Error(`the bench join is not delta-exact: ${analysis.reason}`);
const plan = analysis.plan;
const definition = { name: "recent", key: "order_id", sql: SQL, topics: TOPICS };
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function run(size: number) {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-clock-" });
  let t = Date.UTC(2026, 0, 1);
  const clock = { now: () => t };
  const writer = await Writer.open({
    dataDir: dir,
    shardCount: SHARDS,
    topics: TOPICS,
    synchronous: "normal",
    flushIntervalMs: 1,
    batchSize: 10_000,
    maxBacklog: 1_000_000,
    indexes: plan.indexes,
  });
  const readers = await Readers.open(
    { dataDir: dir, shardCount: SHARDS, topics: TOPICS, busyTimeoutMs: 5000 },
    2,
  );
  const meta = new Meta(`${dir}/meta.db`, { synchronous: "normal" });
  const order = (key: string, timestamp: number): Message => ({
    topic: "orders",
    key,
    payload: { customer_id: `c-${key.length % 50}`, amount: 1 },
    timestamp,
  });
  await writer.write(Array.from({ length: 50 }, (_, i) => ({
    topic: "customers",
    key: `c-${i}`,
    payload: { name: `n${i}` },
    timestamp: t - 2 * HOUR,
  })));
  for (let i = 0; i < size; i += 10_000) {
    const n = Math.min(10_000, size - i);
    await writer.write(
      Array.from({ length: n }, (_, j) => order(`o-${i + j}`, t - HOUR + ((i + j) * HOUR) / size)),
    );
  }
  const deps = { readers, clock, shardCount: SHARDS };
  const delta = clockEvaluator(definition, plan, {
    ...deps,
    emitted: new EmittedState(meta, "delta"),
  });
  const now = new NowReaders(readers);
  const full: Evaluator = new FullEvaluator(
    { ...definition, sql: bindClock(SQL).sql },
    { all: (sql, params) => (now.now = t, now.all(sql, params)) },
    new EmittedState(meta, "full"),
    clock,
  );
  const evaluate = async (e: Evaluator, keys: string[] = []) => {
    const started = performance.now();
    const evaluation = await e.evaluate(new Map([["orders", new Set(keys)]]));
    const name = e === delta ? "delta" : "full";
    new EmittedState(meta, name).commit(evaluation.update, writer.seqs(), evaluation.provenance);
    return performance.now() - started;
  };
  await evaluate(delta);
  await evaluate(full);
  const batch: number[] = [];
  const tick: number[] = [];
  const fullMs: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const keys = Array.from({ length: 100 }, (_, i) => `new-${b}-${i}`);
    await writer.write(keys.map((k) => order(k, t)));
    batch.push(await evaluate(delta, keys));
    t += 1000;
    tick.push(await evaluate(delta));
    fullMs.push(await evaluate(full));
  }
  meta.close();
  readers.close();
  await writer.close();
  await Deno.remove(dir, { recursive: true });
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    orders: size,
    delta_batch_ms: round(median(batch)),
    delta_tick_ms: round(median(tick)),
    full_ms: round(median(fullMs)),
  };
}

const results = [];
for (const size of SIZES) results.push(await run(size));
console.log(JSON.stringify({ bench: "clock_join", shards: SHARDS, results }));
