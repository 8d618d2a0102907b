import assert from "node:assert/strict";
import { parseConfig } from "../engine/config/load.ts";
import { WindowModel } from "./_nexmark_windows.ts";

const SQL =
  "SELECT count(*) AS n FROM bids WHERE timestamp >= :window_start AND timestamp < :window_end";
const SESSION_SQL = `${SQL} AND json_extract(payload, '$.bidder') = :session_key`;

/** A window `w` over topic bids with `fields` (entries of a YAML flow map). */
function model(fields: string): WindowModel {
  const config = parseConfig(
    `sources: [{ name: in, type: http, path: /in, topic: bids, key: id }]
sinks: [{ name: out, type: sqlite, path: ./out.db }]
windows:
  - { name: w, ${fields}, sql: "${fields.includes("session") ? SESSION_SQL : SQL}", sinks: [out] }
`,
    "/tmp/litejoin.yaml",
  );
  return new WindowModel(config.windows[0], "bids");
}

const bid = (dateTime: number, bidder = 1) => ({ id: dateTime, bidder, dateTime });

Deno.test("tumbling: a window that received an event is due at end + grace", () => {
  const m = model("type: tumbling, size: 10s, grace: 1s, time: dateTime");
  for (const t of [12_000, 15_000, 19_999, 35_000]) m.observe("bids", bid(t), t);
  m.observe("persons", bid(45_000), 45_000); // another topic opens no window
  assert.equal(m.session, false);
  assert.equal(m.dueBy(20_999), 0);
  assert.equal(m.dueBy(21_000), 1);
  assert.equal(m.dueBy(40_999), 1); // [20 s, 30 s) received nothing
  assert.equal(m.dueBy(41_000), 2);
  assert.equal(m.dueBy(100_000), 2);
});

Deno.test("sliding: an event opens size / slide windows", () => {
  const m = model("type: sliding, size: 10s, slide: 2s, time: dateTime");
  m.observe("bids", bid(11_000), 11_000); // windows starting 2, 4, 6, 8, 10 s
  assert.equal(m.dueBy(11_999), 0);
  assert.equal(m.dueBy(12_000), 1);
  assert.equal(m.dueBy(20_000), 5);
});

Deno.test("processing time: windows follow the time an event was sent", () => {
  const m = model("type: tumbling, size: 10s");
  m.observe("bids", bid(1), 25_000);
  assert.equal(m.dueBy(29_999), 0);
  assert.equal(m.dueBy(30_000), 1);
});

Deno.test("session: per key, a session ends a gap after its last event", () => {
  const m = model("type: session, gap: 10s, grace: 1s, key: bidder, time: dateTime");
  assert.equal(m.session, true);
  m.observe("bids", bid(0, 1), 0);
  m.observe("bids", bid(5_000, 1), 5_000); // extends key 1's session to 15 s
  m.observe("bids", bid(6_000, 2), 6_000);
  m.observe("bids", bid(20_000, 1), 20_000); // key 1's first session ended at 15 s
  assert.equal(m.dueBy(15_999), 0);
  assert.equal(m.dueBy(16_000), 1);
  assert.equal(m.dueBy(17_000), 2); // key 2: 6 s + 10 s + 1 s
  assert.equal(m.dueBy(30_999), 2);
  assert.equal(m.dueBy(31_000), 3);
});
