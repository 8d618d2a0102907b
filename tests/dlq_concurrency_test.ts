import assert from "node:assert/strict";
import { DlqStore } from "../engine/dlq/store.ts";
import { cli, queryFile, waitFor } from "./_helpers.ts";
import { spawnEngine } from "./_process.ts";

/**
 * A webhook that records which process sent each key (the path says: /engine or /cli),
 * and holds every request until both processes have sent one, so that they really
 * deliver at the same time.
 */
function startTwoPartyReceiver() {
  const seen = new Map<string, string[]>();
  const both = Promise.withResolvers<void>();
  const parties = new Set<string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const party = new URL(req.url).pathname.slice(1);
    const body = await req.json() as { key: string }[];
    parties.add(party);
    if (parties.size === 2) both.resolve();
    await Promise.race([both.promise, new Promise((r) => setTimeout(r, 5000))]);
    await new Promise((r) => setTimeout(r, 5));
    for (const { key } of body) seen.set(key, [...(seen.get(key) ?? []), party]);
    return new Response("ok");
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, stop: () => server.shutdown() };
}

Deno.test("the engine's retry worker and litejoin dlq replay in another process deliver each entry once", async () => {
  const receiver = startTwoPartyReceiver();
  const dir = await Deno.makeTempDir({ prefix: "litejoin-dlq-race-" });
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    `
http: { listen: "127.0.0.1:0" }
engine: { data_dir: ./data, shard_count: 1 }
sinks:
  - { name: hook, type: http, url: "${receiver.url}/\${WHO:-engine}", max_batch: 10 }
`,
  );
  await Deno.mkdir(`${dir}/data`);
  const keys = Array.from({ length: 300 }, (_, i) => `k${String(i).padStart(3, "0")}`);
  const store = new DlqStore(`${dir}/data/dlq.db`);
  store.add(
    "hook",
    keys.map((key) => ({ name: "j", key, row: { key }, timestamp: 1 })),
    "down",
    Date.now(),
    "retrying",
    Date.now(),
  );
  store.close();

  const engine = await spawnEngine(dir);
  try {
    const replay = await cli(
      ["dlq", "replay", "--all", "--offline", "--json", "-c", `${dir}/litejoin.yaml`],
      { env: { WHO: "cli" } },
    );
    assert.equal(replay.code, 0, replay.stderr);
    const summary = JSON.parse(replay.stdout);
    await waitFor("every entry delivered", () => {
      return queryFile(
        `${dir}/data/dlq.db`,
        "SELECT count(*) AS n FROM entries WHERE status = 'delivered'",
      )[0].n === keys.length;
    }, 30_000);

    const byParty = { engine: 0, cli: 0 };
    for (const parties of receiver.seen.values()) {
      for (const p of parties) byParty[p as keyof typeof byParty]++;
    }
    console.log(
      `race: ${keys.length} entries; engine sent ${byParty.engine}, cli sent ${byParty.cli} ` +
        `(replay summary ${JSON.stringify(summary)})`,
    );
    assert.deepEqual([...receiver.seen.keys()].sort(), keys);
    const twice = [...receiver.seen].filter(([, parties]) => parties.length > 1);
    assert.deepEqual(twice, [], "no entry was sent twice");
    assert.ok(byParty.engine > 0 && byParty.cli > 0, "both processes delivered");
    assert.equal(summary.delivered, byParty.cli);
  } finally {
    engine.child.kill("SIGTERM");
    assert.equal((await engine.exited).code, 0);
    await receiver.stop();
  }
});
