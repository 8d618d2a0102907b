import assert from "node:assert/strict";
import { queryFile, startEngine, waitFor } from "./_helpers.ts";

const B = Date.UTC(2024, 0, 1);
const at = (ms: number) => new Date(B + ms).toISOString();
const ms = (col: string) => `unixepoch(json_extract(payload, '$.${col}'), 'subsec') * 1000`;

const PAYLOAD_TIME = `
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: clicks_in, type: http, path: /clicks, topic: clicks, key: id }
windows:
  - name: per_second
    type: tumbling
    size: 1s
    time: at
    late: sink late_db
    sql: |
      SELECT count(*) AS clicks, sum(json_extract(payload, '$.n')) AS total FROM clicks
      WHERE ${ms("at")} >= :window_start AND ${ms("at")} < :window_end
    sinks: [db]
  - name: visits
    type: session
    gap: 2s
    key: user
    time: at
    sql: |
      SELECT count(*) AS clicks, group_concat(key, ' ' ORDER BY key) AS ids FROM clicks
      WHERE json_extract(payload, '$.user') = :session_key
        AND ${ms("at")} >= :window_start AND ${ms("at")} < :window_end
    sinks: [db]
sinks:
  - { name: db, type: sqlite, path: ./results.db }
  - { name: late_db, type: sqlite, path: ./late.db }
`;

const rows = (file: string, sql: string) => {
  try {
    return queryFile(file, sql).map((r) => ({ ...r }));
  } catch {
    return []; // the sink has not created the table yet
  }
};

Deno.test("windows over an HTTP source deliver tumbling and session results to SQLite", async () => {
  const t = await startEngine(PAYLOAD_TIME);
  try {
    const clicks = [
      { id: "c1", user: "ann", at: at(100), n: 1 },
      { id: "c2", user: "ann", at: at(500), n: 2 },
      { id: "c3", user: "bob", at: at(700), n: 3 },
      { id: "c4", user: "ann", at: at(1200), n: 4 },
      { id: "c5", user: "bob", at: at(2900), n: 5 },
    ];
    const response = await t.post("/clicks", clicks);
    assert.equal(response.status, 202);
    await response.body?.cancel();
    // Event time has reached 2.9s: earlier windows close at once, later ones as the
    // wall clock moves it on (bob's second session ends at 4.9s, about 2s from now).
    const db = `${t.dir}/results.db`;
    await waitFor("all windows", () => rows(db, "SELECT * FROM visits").length === 3, 15_000);
    await waitFor("per-second windows", () => rows(db, "SELECT * FROM per_second").length === 3);
    assert.deepEqual(
      rows(db, "SELECT window_start, window_end, clicks, total FROM per_second ORDER BY 1"),
      [
        { window_start: B, window_end: B + 1000, clicks: 3, total: 6 },
        { window_start: B + 1000, window_end: B + 2000, clicks: 1, total: 4 },
        { window_start: B + 2000, window_end: B + 3000, clicks: 1, total: 5 },
      ],
    );
    assert.deepEqual(
      rows(
        db,
        "SELECT _key, session_key, window_start, window_end, clicks, ids FROM visits ORDER BY 3",
      ),
      [
        {
          _key: JSON.stringify([B + 100, B + 3200, "ann"]),
          session_key: "ann",
          window_start: B + 100,
          window_end: B + 3200,
          clicks: 3,
          ids: "c1 c2 c4",
        },
        {
          _key: JSON.stringify([B + 700, B + 2700, "bob"]),
          session_key: "bob",
          window_start: B + 700,
          window_end: B + 2700,
          clicks: 1,
          ids: "c3",
        },
        {
          _key: JSON.stringify([B + 2900, B + 4900, "bob"]),
          session_key: "bob",
          window_start: B + 2900,
          window_end: B + 4900,
          clicks: 1,
          ids: "c5",
        },
      ],
    );

    // A click for the first second, long closed: counted, and routed to the late sink.
    const late = await t.post("/clicks", { id: "c6", user: "cat", at: at(300), n: 6 });
    await late.body?.cancel();
    await waitFor(
      "late click",
      () => rows(`${t.dir}/late.db`, "SELECT * FROM per_second_late").length === 1,
    );
    const [row] = rows(
      `${t.dir}/late.db`,
      "SELECT _key, topic, event_time, payload FROM per_second_late",
    );
    assert.deepEqual({ ...row, payload: JSON.parse(String(row.payload)) }, {
      _key: "c6",
      topic: "clicks",
      event_time: B + 300,
      payload: { id: "c6", user: "cat", at: at(300), n: 6 },
    });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(metrics, /litejoin_window_late_total\{window="per_second"\} 1/);
    assert.match(metrics, /litejoin_window_late_total\{window="visits"\} 1/);
    assert.equal(rows(db, "SELECT * FROM per_second").length, 3, "late data reopens nothing");
  } finally {
    await t.stop();
  }
});

Deno.test("windows on ingest time count every accepted message in the window of its timestamp", async () => {
  const t = await startEngine(`
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: clicks_in, type: http, path: /clicks, topic: clicks, key: id }
windows:
  - name: per_300ms
    type: tumbling
    size: 300ms
    sql: |
      SELECT count(*) AS n FROM clicks WHERE timestamp >= :window_start AND timestamp < :window_end
    sinks: [db]
sinks:
  - { name: db, type: sqlite, path: ./results.db }
`);
  let sent = 0;
  try {
    for (let i = 0; i < 30; i++) {
      const batch = Array.from({ length: 4 }, (_, j) => ({ id: `m${i}-${j}` }));
      const response = await t.post("/clicks", batch);
      await response.body?.cancel();
      assert.equal(response.status, 202);
      sent += batch.length;
      await new Promise((r) => setTimeout(r, 30));
    }
    const db = `${t.dir}/results.db`;
    await waitFor(
      "every message in a closed window",
      () => rows(db, "SELECT sum(n) AS n FROM per_300ms")[0]?.n === sent,
      10_000,
    );
    // Each window counts exactly the stored messages whose timestamp falls in it.
    const expected = new Map<number, number>();
    for (const shard of [0, 1]) {
      for (
        const r of queryFile(`${t.dir}/data/shard_${shard}.db`, "SELECT timestamp FROM clicks")
      ) {
        const start = Math.floor(Number(r.timestamp) / 300) * 300;
        expected.set(start, (expected.get(start) ?? 0) + 1);
      }
    }
    const got = rows(db, "SELECT window_start, n FROM per_300ms ORDER BY 1");
    assert.deepEqual(
      got,
      [...expected].sort((a, b) => a[0] - b[0]).map(([s, n]) => ({
        window_start: s,
        n,
      })),
    );
    assert.ok(got.length >= 3, `${got.length} windows`);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /litejoin_window_late_total\{[^}]*\} [1-9]/);
  } finally {
    await t.stop();
  }
});
