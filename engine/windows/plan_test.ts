import assert from "node:assert/strict";
import { indexName, type TopicIndex } from "../store/indexes.ts";
import { plannedWindow, scansWarning } from "./plan.ts";

const SESSION = `SELECT count(*) AS n FROM bids
  WHERE json_extract(payload, '$.bidder') = :session_key
    AND timestamp >= :window_start AND timestamp < :window_end`;
const PARAMS = ["session_key", "window_start", "window_end"];
const KEY: TopicIndex = { topic: "bids", path: "$.bidder", as: "json", then: "timestamp" };

Deno.test("a window's plan searches the index made for it, or scans the topic without it", () => {
  const topics = ["bids"];
  assert.deepEqual(plannedWindow(SESSION, PARAMS, topics, [KEY], 3), {
    searches: [indexName(KEY)],
    scans: [],
  });
  // The message timestamp's own index narrows it otherwise: no scan either way.
  assert.deepEqual(plannedWindow(SESSION, PARAMS, topics, [], 3), {
    searches: ["bids_timestamp"],
    scans: [],
  });
  const byKeyOnly = SESSION.replace(/AND timestamp.*$/s, "AND :window_start < :window_end");
  assert.deepEqual(plannedWindow(byKeyOnly, PARAMS, topics, [], 3), {
    searches: [],
    scans: ["bids"],
  });
});

Deno.test("a joined topic is read whole per window over several shards, not over one", () => {
  const sql =
    `SELECT count(*) AS n FROM bids b JOIN auctions a ON a.key = json_extract(b.payload, '$.auction')
    WHERE b.timestamp >= :window_start AND b.timestamp < :window_end`;
  const topics = ["auctions", "bids"];
  const params = ["window_start", "window_end"];
  assert.deepEqual(plannedWindow(sql, params, topics, [], 2).scans, ["auctions"]);
  assert.deepEqual(plannedWindow(sql, params, topics, [], 1).scans, []);
});

Deno.test("the warning for a window that reads whole topics says what to write instead", () => {
  const window = {
    name: "visits",
    type: "session",
    key: "user.id",
  } as Parameters<typeof scansWarning>[0];
  assert.equal(
    scansWarning(window, "clicks", ["clicks", "people"]),
    "window visits: its SQL reads all of clicks, people for every window; no index serves its " +
      "filter on clicks: compare timestamp or json_extract(payload, '$.field') with " +
      ":window_start and :window_end, and json_extract(payload, '$.user.id') with :session_key; " +
      "SQLite reads a joined topic (people) whole, as it cannot look into each shard by the join's key",
  );
});
