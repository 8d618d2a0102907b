/**
 * What an attached console costs ingest: HTTP batched ingest throughput with no console,
 * with `litejoin tui` on its dashboard, and with it tailing the ingested topic, in
 * alternating phases of one run. The console is the real one, in a tmux terminal, so
 * its own CPU competes with the engine's as it would on a server. Besides throughput, it
 * reports CPU time per row (engine, plus console when attached), which other load on a
 * shared machine disturbs much less than throughput. Each phase with a console runs
 * between two without, and its throughput is compared with theirs, so that drift (in the
 * engine's WAL, in the machine's load) cancels; the cost is the median of those ratios.
 * Prints one JSON line.
 *
 *   deno run -A bench/console.ts [--seconds 4] [--rounds 5] [--batch 500]
 */
import { parseArgs } from "node:util";
import { spawnEngine } from "../tests/_process.ts";
import { CLI } from "../tests/_helpers.ts";
import { Tmux } from "../tests/_tmux.ts";
import { ControlClient } from "../engine/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "4" },
    rounds: { type: "string", default: "5" },
    batch: { type: "string", default: "500" },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);

/**
 * `subscriber` is a bare control-socket client subscribed to stats: the engine's side of
 * a console without the console's own process, to tell the two costs apart.
 */
type Condition = "none" | "subscriber" | "dashboard" | "tail";

const tmux = await new Deno.Command("sh", { args: ["-c", "command -v tmux"], stdout: "null" })
  .output();
if (!tmux.success) {
  console.error(
    "bench/console.ts: needs tmux (run deno run -A tests/setup.ts, or apt-get install tmux)",
  );
  Deno.exit(1);
}

const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-console-" });
await Deno.writeTextFile(
  `${dir}/litejoin.yaml`,
  `engine: { data_dir: ./data, shard_count: 4 }
http: { listen: "127.0.0.1:0" }
sources:
  - { name: orders_in, type: http, path: /ingest/orders, topic: orders, key: id, max_body: 16MiB }
`,
);

let next = 0;
const body = () =>
  JSON.stringify(
    Array.from({ length: BATCH }, () => {
      const i = next++;
      return { id: `order-${i}`, customer_id: `c-${i % 10_000}`, amount: i % 500, status: "paid" };
    }),
  );

/** CPU milliseconds (user + system) a process has used so far. */
function cpuMs(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
}

/** Rows per second accepted from 4 concurrent clients over `seconds`, and the rows. */
async function ingest(url: string, seconds: number): Promise<{ rate: number; rows: number }> {
  let rows = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (performance.now() < end) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: body(),
      });
      await response.body?.cancel();
      if (response.status === 202) rows += BATCH;
    }
  }));
  return { rate: rows / ((performance.now() - started) / 1000), rows };
}

async function openConsole(socket: string, condition: Condition): Promise<Tmux> {
  const t = await Tmux.start(["deno", "run", "-A", CLI, "tui", "--socket", socket], {
    cols: 100,
    rows: 30,
  });
  await t.waitForText(/orders +[\d,]+ /, 30_000);
  await t.waitForRawMode();
  if (condition === "tail") {
    await t.sendKeys("3");
    await t.waitForText(/Choose a topic/);
    await t.sendKeys("Enter");
    await t.waitForText(/TAIL orders/);
  }
  return t;
}

const engine = await spawnEngine(dir);
const socket = `${dir}/data/litejoin.sock`;
const url = `${engine.url}/ingest/orders`;
const rates: Record<Condition, number[]> = { none: [], subscriber: [], dashboard: [], tail: [] };
/** CPU ms per 1000 rows: the engine's, and the console's. */
const cpu: Record<Condition, { engine: number; console: number; rows: number }> = {
  none: { engine: 0, console: 0, rows: 0 },
  subscriber: { engine: 0, console: 0, rows: 0 },
  dashboard: { engine: 0, console: 0, rows: 0 },
  tail: { engine: 0, console: 0, rows: 0 },
};
/** Phases in order: each with a console is measured between two without. */
const phases: { condition: Condition; rate: number }[] = [];

async function phase(condition: Condition): Promise<void> {
  const console = condition === "dashboard" || condition === "tail"
    ? await openConsole(socket, condition)
    : undefined;
  const client = condition === "subscriber" ? await ControlClient.connect(socket) : undefined;
  await client?.subscribe("stats", () => {});
  try {
    const engineBefore = cpuMs(engine.child.pid);
    const consoleBefore = console ? cpuMs(console.pid) : 0;
    const { rate, rows } = await ingest(url, SECONDS);
    rates[condition].push(rate);
    phases.push({ condition, rate });
    cpu[condition].engine += cpuMs(engine.child.pid) - engineBefore;
    cpu[condition].console += console ? cpuMs(console.pid) - consoleBefore : 0;
    cpu[condition].rows += rows;
  } finally {
    client?.close();
    if (console) {
      await console.sendKeys("q");
      await console.waitForExit().catch(() => {});
      await console.kill();
    }
  }
}

try {
  await ingest(url, 2); // warm up the engine and the connections
  // none, X, none, Y, none, Z, none, …: the engine's own throughput drifts (its WAL grows
  // and is checkpointed, other processes come and go), so each phase with a console is
  // compared with the phases without one just before and after it.
  await phase("none");
  for (let round = 0; round < ROUNDS; round++) {
    for (const condition of ["subscriber", "dashboard", "tail"] as Condition[]) {
      await phase(condition);
      await phase("none");
    }
  }
} finally {
  engine.child.kill("SIGTERM");
  await engine.exited;
  await Deno.remove(dir, { recursive: true });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const none = mean(rates.none);
/** 1 - the median of (rate with `c` / mean rate of the phases without a console around it). */
const cost = (c: Condition) => {
  const ratios = phases.flatMap((p, i) =>
    p.condition === c ? [p.rate / ((phases[i - 1].rate + phases[i + 1].rate) / 2)] : []
  );
  return Number((1 - median(ratios)).toFixed(3));
};
const perKRow = (c: Condition) => ({
  engine: Number((cpu[c].engine / cpu[c].rows * 1000).toFixed(2)),
  console: Number((cpu[c].console / cpu[c].rows * 1000).toFixed(2)),
});
const cpuCost = (c: Condition) => {
  const base = cpu.none.engine / cpu.none.rows;
  return Number(((cpu[c].engine + cpu[c].console) / cpu[c].rows / base - 1).toFixed(3));
};
console.log(JSON.stringify({
  bench: "console",
  seconds_per_phase: SECONDS,
  rounds: ROUNDS,
  batch: BATCH,
  console: "litejoin tui in tmux, 100x30",
  rows_per_s: {
    none: Math.round(none),
    subscriber: Math.round(mean(rates.subscriber)),
    dashboard: Math.round(mean(rates.dashboard)),
    tail: Math.round(mean(rates.tail)),
  },
  phases_rows_per_s: Object.fromEntries(
    Object.entries(rates).map(([k, v]) => [k, v.map(Math.round)]),
  ),
  cost_subscriber: cost("subscriber"),
  cost_dashboard: cost("dashboard"),
  cost_tail: cost("tail"),
  cpu_ms_per_1k_rows: {
    none: perKRow("none"),
    subscriber: perKRow("subscriber"),
    dashboard: perKRow("dashboard"),
    tail: perKRow("tail"),
  },
  cpu_cost_subscriber: cpuCost("subscriber"),
  cpu_cost_dashboard: cpuCost("dashboard"),
  cpu_cost_tail: cpuCost("tail"),
  /** (max - min) / mean of the phases without a console: how noisy the machine was. */
  none_spread: Number(
    ((Math.max(...rates.none) - Math.min(...rates.none)) / none).toFixed(3),
  ),
  target: { max_cost: 0.05 },
}));
