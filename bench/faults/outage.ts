/**
 * Sink outage: the webhook receiver goes down for a while under load. Results that
 * cannot be delivered go to the DLQ; the receiver comes back at the same address; the
 * DLQ drains; the receiver has every result at least once.
 */
import { type Receiver, startReceiver } from "../../tests/_helpers.ts";
import { spawnEngine } from "../../tests/_process.ts";
import { metrics, total } from "../_observe.ts";
import {
  alive,
  check,
  type Drill,
  Load,
  type Outcome,
  sleep,
  stackTraces,
  stopEngine,
  until,
  writeConfig,
} from "./_drill.ts";

const OUTAGE_MS = 8000;

export const outageDrill: Drill = {
  name: "sink outage",
  async run(): Promise<Outcome> {
    const dir = await Deno.makeTempDir({ prefix: "litejoin-drill-outage-" });
    let receiver = await startReceiver();
    const port = Number(new URL(receiver.url).port);
    const lives: Receiver[] = [receiver];
    await writeConfig(
      dir,
      `engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - name: copy
    key: id
    sql: "SELECT key AS id, json_extract(payload, '$.n') AS n FROM events"
    sinks: [hook]
sinks:
  - name: hook
    type: http
    url: "${receiver.url}"
    retries: 1
    backoff: { initial: 20ms, max: 100ms }
    timeout: 2s
dlq: { max_attempts: 1000, backoff: { initial: 200ms, max: 1s } }
`,
    );
    const engine = await spawnEngine(dir);
    const load = new Load("s", {
      url: () => engine.url,
      path: "/in",
      clients: 4,
      batch: 10,
      pauseMs: 20,
      payload: (id) => ({ id, n: Number(id.slice(1)) }),
    });
    const depth = async () => {
      const series = await metrics(engine.url);
      return total(series, "litejoin_dlq_entries", { status: "retrying" }) +
        total(series, "litejoin_dlq_entries", { status: "dead" });
    };
    try {
      await sleep(2000);
      const ackedBefore = load.acked.size;
      await receiver.stop();
      let peak = 0;
      const down = performance.now();
      while (performance.now() - down < OUTAGE_MS) {
        peak = Math.max(peak, await depth());
        await sleep(250);
      }
      receiver = await startReceiver({ port });
      lives.push(receiver);
      const back = performance.now();
      await sleep(2000);
      await load.stop();
      const acked = [...load.acked];
      const keys = () => new Set(lives.flatMap((r) => r.results().map((x) => x.key)));
      const drained = await until(async () => {
        const got = keys();
        return (await depth()) === 0 && acked.every((id) => got.has(id));
      }, 60_000);
      const drainS = (performance.now() - back) / 1000;
      const series = await metrics(engine.url);
      const dead = total(series, "litejoin_dlq_entries", { status: "dead" });
      const got = keys();
      const deliveries = lives.reduce((n, r) => n + r.results().length, 0);
      const missing = acked.filter((id) => !got.has(id)).length;
      const code = await stopEngine(engine);
      const traces = stackTraces(engine.log());
      check(peak > 0, "no result went to the DLQ during the outage");
      check(drained, `the DLQ did not drain: depth ${await depth()}, ${missing} results missing`);
      check(dead === 0, `${dead} results dead in the DLQ`);
      check(missing === 0, `${missing} acknowledged results never reached the receiver`);
      check(load.refused === 0, `${load.refused} POSTs refused during the outage`);
      check(code === 0, `the engine exited with ${code} on SIGTERM`);
      check(traces.length === 0, `stack trace in the log: ${traces[0]}`);
      return {
        outcome: "pass",
        details: `${acked.length} results (${ackedBefore} before the outage), receiver down ` +
          `${OUTAGE_MS / 1000} s, DLQ peak ${peak}, drained ${drainS.toFixed(1)} s after it came ` +
          `back; received all ${got.size} (${deliveries} deliveries, ` +
          `${deliveries - got.size} duplicates)`,
      };
    } finally {
      await load.stop();
      if (await alive(engine)) await stopEngine(engine);
      await receiver.stop().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
};
