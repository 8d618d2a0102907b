/**
 * kill -9 under load: eight clients ingest batches; the engine is SIGKILLed, then
 * restarted on the same data while the clients carry on. Every acknowledged message
 * must be in the shards, and the join's sinks (a webhook and an SQLite table) must
 * catch up with every one of them.
 */
import { queryFile, startReceiver, topicKeys } from "../../tests/_helpers.ts";
import { spawnEngine } from "../../tests/_process.ts";
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

export const killDrill: Drill = {
  name: "kill -9 under load",
  async run(): Promise<Outcome> {
    const dir = await Deno.makeTempDir({ prefix: "litejoin-drill-kill-" });
    const receiver = await startReceiver();
    await writeConfig(
      dir,
      `engine: { data_dir: ./data, shard_count: 4 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - name: copy
    key: id
    sql: "SELECT key AS id, json_extract(payload, '$.n') AS n FROM events"
    sinks: [hook, db]
sinks:
  - { name: hook, type: http, url: "${receiver.url}" }
  - { name: db, type: sqlite, path: ./data/results.db, table: copy }
`,
    );
    let engine = await spawnEngine(dir);
    const logs: string[] = [];
    const load = new Load("k", {
      url: () => engine.url,
      path: "/in",
      clients: 8,
      batch: 20,
      payload: (id) => ({ id, n: Number(id.slice(1)) }),
    });
    try {
      check(await until(() => load.acked.size >= 5000, 60_000), "ingest did not get going");
      engine.child.kill("SIGKILL");
      const killed = await engine.exited;
      logs.push(engine.log());
      check(killed.signal === "SIGKILL", `the engine exited with ${killed.code}, not by SIGKILL`);
      const ackedAtKill = [...load.acked];
      const stored = topicKeys(`${dir}/data`, "events", 4);
      const lost = ackedAtKill.filter((id) => !stored.has(id));
      check(lost.length === 0, `${lost.length} acknowledged messages lost, e.g. ${lost[0]}`);

      const restartedAt = performance.now();
      engine = await spawnEngine(dir);
      const restartMs = performance.now() - restartedAt;
      await sleep(3000);
      await load.stop();

      const acked = [...load.acked];
      const received = () => new Set(receiver.results().map((r) => r.key));
      const inDb = () => {
        try {
          return new Set(
            queryFile(`${dir}/data/results.db`, "SELECT _key FROM copy").map((r) => String(r._key)),
          );
        } catch {
          return new Set<string>();
        }
      };
      const caughtUp = await until(() => {
        const hook = received();
        const db = inDb();
        return acked.every((id) => hook.has(id) && db.has(id));
      }, 60_000);
      const hook = received();
      const db = inDb();
      const missingHook = acked.filter((id) => !hook.has(id)).length;
      const missingDb = acked.filter((id) => !db.has(id)).length;
      const deliveries = receiver.results().length;
      const code = await stopEngine(engine);
      logs.push(engine.log());
      const traces = stackTraces(logs.join("\n"));
      check(caughtUp, `sinks did not catch up: webhook misses ${missingHook}, sqlite ${missingDb}`);
      check(code === 0, `the restarted engine exited with ${code} on SIGTERM`);
      check(traces.length === 0, `stack trace in the log: ${traces[0]}`);
      const total = topicKeys(`${dir}/data`, "events", 4);
      const lostAfter = acked.filter((id) => !total.has(id)).length;
      check(lostAfter === 0, `${lostAfter} acknowledged messages missing after the restart`);
      return {
        outcome: "pass",
        details: `${ackedAtKill.length} acked before SIGKILL, ${stored.size} stored, 0 lost; ` +
          `restart ${Math.round(restartMs)} ms; ${acked.length} acked in all, all in the webhook ` +
          `(${deliveries - hook.size} redelivered) and in SQLite`,
      };
    } finally {
      await load.stop();
      if (await alive(engine)) await stopEngine(engine);
      await receiver.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
};
