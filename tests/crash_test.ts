import assert from "node:assert/strict";
import { queryFile, topicKeys, waitFor } from "./_helpers.ts";
import { spawnEngine } from "./_process.ts";

const CONFIG = `
http: { listen: "127.0.0.1:0" }
engine: { data_dir: ./data, shard_count: 4 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - { name: copy, key: id, sql: "SELECT key AS id, json_extract(payload, '$.n') AS n FROM events", sinks: [db] }
sinks:
  - { name: db, type: sqlite, path: ./results.db }
`;

Deno.test("SIGKILL during sustained ingest loses no acknowledged message, and the join catches up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-crash-" });
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, CONFIG);
  const engine = await spawnEngine(dir);
  const acked = new Set<string>();
  let sent = 0;
  let killed = false;
  const client = async (worker: number) => {
    for (let i = 0; !killed; i++) {
      const batch = Array.from({ length: 10 }, (_, j) => ({ id: `w${worker}-${i}-${j}`, n: i }));
      sent += batch.length;
      try {
        const response = await fetch(`${engine.url}/in`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(batch),
        });
        await response.body?.cancel();
        if (response.status === 202) batch.forEach((m) => acked.add(m.id));
      } catch {
        return; // the engine is gone
      }
    }
  };
  const clients = Array.from({ length: 8 }, (_, w) => client(w));
  await waitFor("sustained ingest", () => acked.size >= 3000, 30_000);
  killed = true;
  engine.child.kill("SIGKILL");
  await engine.exited;
  await Promise.all(clients);

  const stored = topicKeys(`${dir}/data`, "events", 4);
  const lost = [...acked].filter((k) => !stored.has(k));
  console.log(
    `crash: sent ${sent}, acknowledged ${acked.size}, stored ${stored.size}, lost ${lost.length}`,
  );
  assert.deepEqual(lost, []);

  const restarted = await spawnEngine(dir);
  try {
    await waitFor("the join to catch up", () => {
      try {
        return queryFile(`${dir}/results.db`, "SELECT count(*) AS n FROM copy")[0].n ===
          stored.size;
      } catch {
        return false;
      }
    }, 30_000);
  } finally {
    restarted.child.kill("SIGTERM");
    assert.equal((await restarted.exited).code, 0);
  }
  const delivered = new Set(
    queryFile(`${dir}/results.db`, "SELECT _key FROM copy").map((r) => String(r._key)),
  );
  assert.deepEqual([...acked].filter((k) => !delivered.has(k)), []);
});
