/**
 * Per-batch join latency against topic size, delta against full re-execution, in one
 * run. Prints one JSON line.
 *
 *   deno run -A bench/joins.ts [--sizes 10000,100000,1000000] [--batches 5] [--shards 4]
 *     [--no-group]
 *
 * For each size N: `orders` holds N rows and `customers` N/10 (ten orders each), written
 * straight into the shard files with the `Shard` class. Each batch changes 1,000 keys
 * and is evaluated the way the joiner does it (evaluate, then record what was emitted).
 * - delta_orders_ms: 1,000 changed orders (amounts, and one in ten moves to another customer)
 * - delta_customers_ms: 1,000 renamed customers, so 10,000 result rows change
 * - views_*: the same deltas reading through the topic views instead of per-shard tables
 * - full_ms: re-running the whole join and diffing it (FullEvaluator) after a batch of orders
 * - group_*: a GROUP BY join (orders per customer: count, sum, max, the customer's name),
 *   evaluated by recomputing the groups a batch touched (GroupEvaluator), after the same
 *   batches: 1,000 changed orders touch ~1,100 customers' groups, 1,000 renamed customers
 *   1,000 groups; group_full_ms is the same join re-run whole (FullEvaluator)
 * Figures are medians over the batches (`*_max_ms`: the slowest); `*_cpu_ms` is the process's
 * CPU time for the batch, less sensitive than wall time to other load on the machine.
 */
import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import { Shard, shardPath } from "../engine/store/shard.ts";
import { shardOf } from "../engine/store/fnv.ts";
import { Readers } from "../engine/store/readers.ts";
import { Meta } from "../engine/store/meta.ts";
import { analyzeSql } from "../engine/joins/analyze.ts";
import { analyzeDelta } from "../engine/joins/delta_plan.ts";
import { DeltaEvaluator } from "../engine/joins/delta.ts";
import { EmittedState } from "../engine/joins/emitted.ts";
import { type Evaluator, FullEvaluator } from "../engine/joins/evaluator.ts";
import { GroupEvaluator } from "../engine/joins/group.ts";
import { uniqueIndexes } from "../engine/store/indexes.ts";

const { values } = parseArgs({
  args: Deno.args,
  allowNegative: true,
  options: {
    group: { type: "boolean", default: true },
    sizes: { type: "string", default: "10000,100000,1000000" },
    batches: { type: "string", default: "5" },
    shards: { type: "string", default: "4" },
  },
});
const SIZES = values.sizes.split(",").map(Number);
const BATCHES = Number(values.batches);
const SHARDS = Number(values.shards);
const BATCH = 1000;
const TOPICS = ["customers", "orders"];
const SQL = `
  SELECT o.key AS order_id, json_extract(o.payload, '$.amount') AS amount,
         json_extract(c.payload, '$.name') AS customer
  FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')`;

const GROUP_SQL = `
  SELECT c.key AS customer_id, count(*) AS orders, sum(json_extract(o.payload, '$.amount')) AS total,
         max(json_extract(o.payload, '$.amount')) AS largest,
         max(json_extract(c.payload, '$.name')) AS customer
  FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
  GROUP BY c.key`;

const analysis = analyzeDelta(SQL, TOPICS);
if (!analysis.exact) throw new Error(`the bench join is not delta-exact: ${analysis.reason}`);
const plan = analysis.plan;
const grouped = analyzeDelta(GROUP_SQL, TOPICS, "customer_id");
if (!grouped.exact) throw new Error(`the bench GROUP BY is not by group: ${grouped.reason}`);
const groupPlan = grouped.plan;
const groupDefinition = {
  name: "per_customer",
  key: "customer_id",
  sql: GROUP_SQL,
  topics: analyzeSql(GROUP_SQL, TOPICS).topics,
};
const definition = {
  name: "enriched",
  key: "order_id",
  sql: SQL,
  topics: analyzeSql(SQL, TOPICS).topics,
};
const clock = { now: () => Date.now() };
let seq = 0;

/** Order i; `version` changes its amount, `moved` sends it to another customer. */
const order = (i: number, customers: number, version = 0, moved = false) =>
  JSON.stringify({
    id: `o-${i}`,
    customer_id: `c-${(i + (moved ? version * 7 : 0)) % customers}`,
    amount: (i * 31 + version) % 500,
    status: i % 3 ? "paid" : "open",
    note: "a typical order payload of a hundred-odd bytes",
  });
const customer = (i: number, version = 0) =>
  JSON.stringify({ id: `c-${i}`, name: `customer ${i} v${version}`, tier: i % 4 });

/** Writes rows through the shards' own write path, one transaction per shard. */
function write(shards: Shard[], topic: string, rows: [string, string][]): void {
  const byShard = shards.map(() => [] as Parameters<Shard["apply"]>[0][number][]);
  for (const [key, payload] of rows) {
    byShard[shardOf(key, shards.length)].push([topic, key, payload, 1000 + ++seq, null]);
  }
  byShard.forEach((batch, i) => batch.length && shards[i].apply(batch));
}

async function measure(
  evaluator: Evaluator,
  emitted: EmittedState,
  changes: Map<string, Set<string>>,
) {
  const cpu = cpuUsage();
  const started = performance.now();
  const evaluation = await evaluator.evaluate(changes);
  emitted.commit(evaluation.update, [], evaluation.provenance);
  const used = cpuUsage(cpu);
  return {
    ms: performance.now() - started,
    cpuMs: (used.user + used.system) / 1000,
    results: evaluation.results.length,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number) => Math.round(x * 100) / 100;

async function run(size: number): Promise<Record<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-joins-" });
  const customers = Math.max(BATCH, size / 10);
  const loadStarted = performance.now();
  let shards = Array.from(
    { length: SHARDS },
    (_, i) => new Shard(i, shardPath(dir, i), TOPICS, { synchronous: "normal" }),
  );
  for (let from = 0; from < size; from += 50_000) {
    const rows: [string, string][] = [];
    for (let i = from; i < Math.min(size, from + 50_000); i++) {
      rows.push([`o-${i}`, order(i, customers)]);
    }
    write(shards, "orders", rows);
  }
  write(shards, "customers", Array.from({ length: customers }, (_, i) => [`c-${i}`, customer(i)]));
  shards.forEach((s) => s.close());
  // Reopen with the indexes the join's deltas look up through, as the engine does.
  shards = Array.from(
    { length: SHARDS },
    (_, i) =>
      new Shard(i, shardPath(dir, i), TOPICS, {
        synchronous: "normal",
        indexes: uniqueIndexes([...plan.indexes, ...groupPlan.indexes]),
      }),
  );
  const loadSeconds = (performance.now() - loadStarted) / 1000;

  const readers = await Readers.open(
    { dataDir: dir, shardCount: SHARDS, topics: TOPICS, busyTimeoutMs: 5000 },
    2,
  );
  // One meta.db per evaluator, so that none pays for checkpoints of another's writes.
  const metas: Meta[] = [];
  const state = (name: string) => {
    metas.push(new Meta(`${dir}/meta_${name}.db`, { synchronous: "normal" }));
    return new EmittedState(metas.at(-1)!, name);
  };
  const make = (name: string, perShard: boolean) => {
    const emitted = state(name);
    const evaluator = new DeltaEvaluator(
      { ...definition, name },
      plan,
      readers,
      emitted,
      clock,
      SHARDS,
      {
        perShard,
      },
    );
    return { emitted, evaluator };
  };
  const delta = make("delta", true);
  const views = make("views", false);
  const full = { emitted: state("full") };
  const fullEvaluator = new FullEvaluator(
    { ...definition, name: "full" },
    readers,
    full.emitted,
    clock,
  );
  const group = { emitted: state("group") } as { emitted: EmittedState; evaluator: Evaluator };
  group.evaluator = new GroupEvaluator(
    groupDefinition,
    groupPlan,
    readers,
    group.emitted,
    clock,
    SHARDS,
  );
  const groupFull = { emitted: state("group_full") } as typeof group;
  groupFull.evaluator = new FullEvaluator(
    { ...groupDefinition, name: "group_full" },
    readers,
    groupFull.emitted,
    clock,
  );
  // First evaluations: everything is new (the delta evaluators record provenance).
  const initial = await measure(delta.evaluator, delta.emitted, new Map());
  await measure(views.evaluator, views.emitted, new Map());
  await measure(fullEvaluator, full.emitted, new Map());
  const initialGroup = values.group
    ? await measure(group.evaluator, group.emitted, new Map())
    : undefined;
  if (values.group) await measure(groupFull.evaluator, groupFull.emitted, new Map());

  // Whichever runs first after a write reads cold pages: alternate the order.
  const pair = (b: number) => {
    const both = [["delta", delta], ["views", views]] as const;
    return b % 2 ? both : [both[1], both[0]] as const;
  };
  const figures: Record<string, number[]> = {
    delta_orders_ms: [],
    delta_orders_cpu_ms: [],
    delta_customers_ms: [],
    delta_customers_cpu_ms: [],
    views_orders_ms: [],
    views_customers_ms: [],
    full_ms: [],
    group_orders_ms: [],
    group_orders_cpu_ms: [],
    group_customers_ms: [],
    group_customers_cpu_ms: [],
    group_full_ms: [],
  };
  const results: Record<string, number> = {};
  for (let b = 1; b <= BATCHES; b++) {
    const keys = new Set<string>();
    const rows: [string, string][] = [];
    while (keys.size < BATCH) {
      const i = Math.floor(Math.random() * size);
      if (keys.has(`o-${i}`)) continue;
      keys.add(`o-${i}`);
      rows.push([`o-${i}`, order(i, customers, b, keys.size % 10 === 0)]);
    }
    write(shards, "orders", rows);
    const orders = new Map([["orders", keys]]);
    for (const [name, e] of pair(b)) {
      const m = await measure(e.evaluator, e.emitted, orders);
      figures[`${name}_orders_ms`].push(m.ms);
      figures[`${name}_orders_cpu_ms`]?.push(m.cpuMs);
      results[`${name}_orders_results`] = m.results;
    }
    if (b <= 2 || size < 1_000_000) {
      figures.full_ms.push((await measure(fullEvaluator, full.emitted, orders)).ms);
    }
    if (values.group) {
      const m = await measure(group.evaluator, group.emitted, orders);
      figures.group_orders_ms.push(m.ms);
      figures.group_orders_cpu_ms.push(m.cpuMs);
      results.group_orders_results = m.results;
      if (b <= 2 || size < 1_000_000) {
        figures.group_full_ms.push(
          (await measure(groupFull.evaluator, groupFull.emitted, orders)).ms,
        );
      }
    }

    const start = (b * BATCH * 3) % customers;
    const renamed = Array.from({ length: BATCH }, (_, k) => (start + k) % customers);
    write(shards, "customers", renamed.map((i) => [`c-${i}`, customer(i, b)]));
    const changed = new Map([["customers", new Set(renamed.map((i) => `c-${i}`))]]);
    for (const [name, e] of pair(b)) {
      const m = await measure(e.evaluator, e.emitted, changed);
      figures[`${name}_customers_ms`].push(m.ms);
      figures[`${name}_customers_cpu_ms`]?.push(m.cpuMs);
      results[`${name}_customers_results`] = m.results;
    }
    // Keep the full evaluator's emitted state current without timing it.
    if (b <= 2 || size < 1_000_000) await measure(fullEvaluator, full.emitted, changed);
    if (values.group) {
      const m = await measure(group.evaluator, group.emitted, changed);
      figures.group_customers_ms.push(m.ms);
      figures.group_customers_cpu_ms.push(m.cpuMs);
      results.group_customers_results = m.results;
      if (b <= 2 || size < 1_000_000) {
        await measure(groupFull.evaluator, groupFull.emitted, changed);
      }
    }
  }
  readers.close();
  metas.forEach((m) => m.close());
  shards.forEach((s) => s.close());
  await Deno.remove(dir, { recursive: true });
  return {
    orders: size,
    customers,
    load_s: round(loadSeconds),
    initial_full_with_provenance_ms: Math.round(initial.ms),
    ...(initialGroup ? { initial_group_with_membership_ms: Math.round(initialGroup.ms) } : {}),
    ...Object.fromEntries(
      Object.entries(figures).filter(([, v]) => v.length).map(([k, v]) => [k, round(median(v))]),
    ),
    delta_orders_max_ms: round(Math.max(...figures.delta_orders_ms)),
    delta_customers_max_ms: round(Math.max(...figures.delta_customers_ms)),
    changed_results_per_customer_batch: results.delta_customers_results,
    ...(values.group
      ? {
        group_orders_max_ms: round(Math.max(...figures.group_orders_ms)),
        group_changed_results_per_order_batch: results.group_orders_results,
        group_changed_results_per_customer_batch: results.group_customers_results,
      }
      : {}),
  };
}

const bySize: Record<string, Record<string, number>> = {};
for (const size of SIZES) {
  console.error(`joins: ${size} orders …`);
  bySize[size] = await run(size);
}
const small = bySize[SIZES[0]];
const large = bySize[SIZES.at(-1)!];
const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
console.log(JSON.stringify({
  bench: "joins",
  shards: SHARDS,
  batch: BATCH,
  batches: BATCHES,
  sizes: bySize,
  delta_orders_large_over_small: ratio(large.delta_orders_ms, small.delta_orders_ms),
  delta_customers_large_over_small: ratio(large.delta_customers_ms, small.delta_customers_ms),
  delta_orders_cpu_large_over_small: ratio(large.delta_orders_cpu_ms, small.delta_orders_cpu_ms),
  full_over_delta_orders_large: ratio(large.full_ms, large.delta_orders_ms),
  full_over_delta_customers_large: ratio(large.full_ms, large.delta_customers_ms),
  views_over_per_shard_orders_large: ratio(large.views_orders_ms, large.delta_orders_ms),
  ...(values.group
    ? {
      group_orders_large_over_small: ratio(large.group_orders_ms, small.group_orders_ms),
      group_customers_large_over_small: ratio(large.group_customers_ms, small.group_customers_ms),
      group_orders_cpu_large_over_small: ratio(
        large.group_orders_cpu_ms,
        small.group_orders_cpu_ms,
      ),
      group_full_over_group_orders_large: ratio(large.group_full_ms, large.group_orders_ms),
    }
    : {}),
  targets: { delta_large_over_small: 2, full_over_delta_large: 100, group_large_over_small: 2 },
}));
