import assert from "node:assert/strict";
import { cli } from "./_helpers.ts";

Deno.test("litejoin validate says how each window reads: through which index, or the whole topic", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-validate-windows-" });
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    `
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: bids_in, type: http, path: /bids, topic: bids, key: id }
  - { name: auctions_in, type: http, path: /auctions, topic: auctions, key: id }
windows:
  - name: per_bidder
    type: session
    gap: 1m
    key: bidder
    sql: |
      SELECT count(*) AS n FROM bids WHERE json_extract(payload, '$.bidder') = :session_key
        AND timestamp >= :window_start AND timestamp < :window_end
    sinks: [db]
  - name: by_category
    type: tumbling
    size: 1m
    topic: bids
    sql: |
      SELECT count(*) AS n FROM bids b JOIN auctions a ON a.key = json_extract(b.payload, '$.auction')
      WHERE b.timestamp >= :window_start AND b.timestamp < :window_end
    sinks: [db]
sinks:
  - { name: db, type: sqlite, path: ./results.db }
`,
  );
  const { code, stdout } = await cli(["validate", "-c", `${dir}/litejoin.yaml`]);
  assert.equal(code, 0);
  assert.match(
    stdout,
    /\n {2}window per_bidder: session on bids; reads through index bids__lj_json_bidder_timestamp_\w+\n/,
  );
  assert.match(
    stdout,
    /\n {2}window by_category: tumbling on bids; reads through index bids_timestamp; reads all of auctions for every window \(no index serves its filter\)\n/,
  );
  await Deno.remove(dir, { recursive: true });
});
