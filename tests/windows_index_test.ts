/**
 * The engine makes the indexes its windows read through on every shard, and SQLite's
 * plan for each window's statement searches them in every shard (issue 18, item 4).
 */
import assert from "node:assert/strict";
import { parseConfig } from "../engine/config/load.ts";
import { engineIndexes } from "../engine/indexes.ts";
import { createLogger } from "../engine/log.ts";
import { indexName } from "../engine/store/indexes.ts";
import { openReader } from "../engine/store/reader_db.ts";
import { queryFile, startEngine, waitFor } from "./_helpers.ts";

const ms = (col: string) => `unixepoch(json_extract(payload, '$.${col}'), 'subsec') * 1000`;

const YAML = `
engine: { data_dir: ./data, shard_count: 3 }
sources:
  - { name: bids_in, type: http, path: /bids, topic: bids, key: id }
  - { name: auctions_in, type: http, path: /auctions, topic: auctions, key: id }
windows:
  - name: per_bidder
    type: session
    gap: 1s
    key: bidder
    time: at
    sql: |
      SELECT count(*) AS bids FROM bids
      WHERE json_extract(payload, '$.bidder') = :session_key
        AND ${ms("at")} >= :window_start AND ${ms("at")} < :window_end
    sinks: [db]
  - name: per_second
    type: tumbling
    size: 1s
    time: t
    sql: |
      SELECT max(json_extract(payload, '$.price')) AS top FROM bids
      WHERE json_extract(payload, '$.t') >= :window_start AND json_extract(payload, '$.t') < :window_end
    sinks: [db]
  - name: by_category
    type: tumbling
    size: 1s
    time: t
    topic: bids
    sql: |
      SELECT count(*) AS n FROM bids b JOIN auctions a ON a.key = json_extract(b.payload, '$.auction')
      WHERE json_extract(b.payload, '$.t') >= :window_start AND json_extract(b.payload, '$.t') < :window_end
    sinks: [db]
sinks:
  - { name: db, type: sqlite, path: ./results.db }
`;

Deno.test("the engine indexes what its windows filter on, and their plans search every shard", async () => {
  const lines: string[] = [];
  const t = await startEngine(YAML, { log: createLogger({ write: (l) => lines.push(l) }) });
  try {
    const config = parseConfig(YAML, `${t.dir}/litejoin.yaml`);
    const names = engineIndexes(config).map(indexName);
    // The session key with its ISO-8601 event time, and the epoch-ms payload time.
    assert.equal(names.length, 2, names.join(", "));
    for (let shard = 0; shard < 3; shard++) {
      const present = queryFile(
        `${t.dir}/data/shard_${shard}.db`,
        "SELECT name FROM sqlite_schema WHERE type = 'index'",
      ).map((r) => String(r.name));
      for (const name of names) assert.ok(present.includes(name), `shard ${shard} has ${name}`);
    }
    await t.post("/bids", { id: "b1", bidder: "ann", at: "2030-01-01T00:00:00Z", t: 1, price: 3 });
    await waitFor("the first session's result", () => {
      try {
        return queryFile(`${t.dir}/results.db`, "SELECT 1 FROM per_bidder").length === 1;
      } catch {
        return false;
      }
    });

    const db = openReader(`${t.dir}/data`, 3, config.topicNames);
    try {
      const plan = (name: string, params: Record<string, string | bigint>) =>
        db.prepare(`EXPLAIN QUERY PLAN ${config.windows.find((w) => w.name === name)!.sql}`)
          .all(params).map((r) => String(r.detail));
      const bounds = { window_start: 0n, window_end: 1n };
      for (
        const [name, params] of [
          ["per_bidder", { ...bounds, session_key: "ann" }],
          ["per_second", bounds],
        ] as const
      ) {
        const detail = plan(name, params);
        const searches = detail.filter((d) => /^SEARCH s\d\.bids USING INDEX /.test(d));
        assert.equal(searches.length, 3, detail.join("\n"));
        assert.ok(searches.every((d) => names.some((n) => d.includes(n))), detail.join("\n"));
        assert.ok(!detail.some((d) => d.startsWith("SCAN s")), detail.join("\n"));
      }
    } finally {
      db.close();
    }
    // A window that reads a joined topic in full for each window is named in the log.
    const warned = lines.filter((l) => l.includes("reads all of"));
    assert.equal(warned.length, 1, lines.join("\n"));
    assert.match(warned[0], /window by_category: its SQL reads all of auctions for every window/);
  } finally {
    await t.stop();
  }
});
