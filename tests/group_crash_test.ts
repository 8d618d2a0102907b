/**
 * A GROUP BY join evaluated by group, end to end: HTTP in, an SQLite sink out, a
 * SIGKILL in the middle of ingest that moves rows between groups, and a restart.
 * The sink must end up holding exactly what the join's SQL gives over the topics.
 */
import assert from "node:assert/strict";
import { openReader } from "../engine/store/reader_db.ts";
import { queryFile, waitFor } from "./_helpers.ts";
import { spawnEngine } from "./_process.ts";

const SQL = `
      SELECT json_extract(a.payload, '$.category') AS category, avg(w.best) AS avg_best,
             count(*) AS auctions
      FROM (SELECT json_extract(payload, '$.auction') AS auction,
              max(json_extract(payload, '$.price')) AS best
            FROM bids GROUP BY 1) w
      JOIN auctions a ON a.key = w.auction
      GROUP BY 1`;

const CONFIG = `
http: { listen: "127.0.0.1:0" }
engine: { data_dir: ./data, shard_count: 3 }
sources:
  - { name: auctions_in, type: http, path: /auctions, topic: auctions, key: id }
  - { name: bids_in, type: http, path: /bids, topic: bids, key: id }
joins:
  - name: best_per_category
    key: category
    sql: |${SQL.replaceAll("\n", "\n  ")}
    sinks: [db]
sinks:
  - { name: db, type: sqlite, path: ./results.db }
`;

async function post(url: string, path: string, rows: unknown[]): Promise<boolean> {
  try {
    const response = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(rows),
    });
    await response.body?.cancel();
    return response.status === 202;
  } catch {
    return false; // the engine is gone
  }
}

const byKey = (entries: [string, unknown][]) =>
  Object.fromEntries(entries.sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0));

/** The join's SQL over the topics as they are now, by category. */
function expected(dir: string): Record<string, unknown> {
  const db = openReader(`${dir}/data`, 3, ["auctions", "bids"]);
  try {
    const rows = db.prepare(SQL).all();
    return byKey(rows.map((r) => [String(r.category), [r.avg_best, r.auctions]]));
  } finally {
    db.close();
  }
}

function delivered(dir: string): Record<string, unknown> {
  try {
    const rows = queryFile(`${dir}/results.db`, "SELECT * FROM best_per_category");
    return byKey(rows.map((r) => [String(r._key), [Number(r.avg_best), Number(r.auctions)]]));
  } catch {
    return {};
  }
}

Deno.test("a GROUP BY join over a grouped subquery delivers exactly the SQL's result across a SIGKILL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-group-crash-" });
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, CONFIG);
  const engine = await spawnEngine(dir);
  const auction = (i: number, round: number) => ({ id: `a${i}`, category: `c${(i + round) % 5}` });
  assert.ok(
    await post(engine.url, "/auctions", Array.from({ length: 40 }, (_, i) => auction(i, 0))),
  );
  let killed = false;
  let acked = 0;
  const bidder = async () => {
    for (let round = 1; !killed; round++) {
      const bids = Array.from({ length: 20 }, (_, j) => ({
        id: `b${(round * 20 + j) % 600}`,
        auction: `a${(round * 7 + j) % 45}`, // a40–a44 do not exist
        price: (round * 13 + j * 7) % 100,
      }));
      // Every few rounds, some auctions move to another category.
      const moved = Array.from({ length: 5 }, (_, j) => auction((round + j * 8) % 40, round));
      if (!await post(engine.url, "/bids", bids)) return;
      if (round % 3 === 0 && !await post(engine.url, "/auctions", moved)) return;
      acked++;
    }
  };
  const running = bidder();
  await waitFor("some rounds of ingest", () => acked >= 40, 30_000);
  killed = true;
  engine.child.kill("SIGKILL");
  await engine.exited;
  await running;

  const restarted = await spawnEngine(dir);
  try {
    // A further move after the restart is evaluated from the membership recorded before.
    assert.ok(
      await post(restarted.url, "/auctions", [{ id: "a1", category: "c9" }, {
        id: "a2",
        category: "c9",
      }]),
    );
    const want = expected(dir);
    assert.ok(Object.keys(want).includes("c9"), JSON.stringify(want));
    await waitFor(
      "the sink to hold the SQL's result",
      () => JSON.stringify(delivered(dir)) === JSON.stringify(want),
      30_000,
    );
    assert.match(restarted.log(), /join best_per_category: .*mode delta \(recomputes only/);
  } finally {
    restarted.child.kill("SIGTERM");
    assert.equal((await restarted.exited).code, 0);
  }
  assert.deepEqual(delivered(dir), expected(dir));
  await Deno.remove(dir, { recursive: true });
});
