/** Result values keep their SQL type from the join to the sinks (issue 18, item 6). */
import assert from "node:assert/strict";
import { queryFile, startEngine, waitFor } from "./_helpers.ts";

Deno.test("a join's INTEGER, REAL, TEXT and NULL columns keep their types in the SQLite and webhook sinks", async () => {
  const bodies: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    bodies.push(await req.text());
    return new Response("ok");
  });
  const t = await startEngine(`
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: bids_in, type: http, path: /bids, topic: bids, key: id }
joins:
  - name: q9
    key: id
    sql: |
      SELECT key AS id, json_extract(payload, '$.auction') AS auction,
             json_extract(payload, '$.price') AS price, json_extract(payload, '$.channel') AS channel,
             json_extract(payload, '$.extra') AS extra, count(*) OVER () AS n
      FROM bids
    sinks: [db, hook]
sinks:
  - { name: db, type: sqlite, path: ./results.db }
  - { name: hook, type: http, url: "http://127.0.0.1:${server.addr.port}/hook" }
`);
  try {
    await t.post("/bids", { id: "b1", auction: 1000, price: 12.5, channel: "web", extra: null });
    const db = `${t.dir}/results.db`;
    await waitFor("the SQLite row", () => {
      try {
        return queryFile(db, "SELECT 1 FROM q9").length === 1;
      } catch {
        return false;
      }
    });
    await waitFor("the webhook body", () => bodies.length > 0);
    const [row] = queryFile(
      db,
      `SELECT typeof(auction) a, typeof(price) p, typeof(channel) c, typeof(extra) e,
              typeof(n) n, CAST(auction AS TEXT) shown FROM q9`,
    );
    assert.deepEqual({ ...row }, {
      a: "integer",
      p: "real",
      c: "text",
      e: "null",
      n: "integer",
      shown: "1000",
    });
    assert.match(bodies[0], /"auction":1000[,}]/);
    assert.match(bodies[0], /"price":12\.5[,}]/);
    assert.match(bodies[0], /"n":1[,}]/);
  } finally {
    await t.stop();
    await server.shutdown();
  }
});
