/**
 * Windows against the SQL itself: seeded random events with updates and deletes, on
 * payload event time, closed in two rounds across a restart. Every delivered window
 * must equal its SQL run over the final data in a plain SQLite table (no shards, no
 * indexes), every final event must lie in a delivered window, and `emit: update`
 * must end where `emit: close` does.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { parseConfig } from "../config/load.ts";
import { engineIndexes } from "../indexes.ts";
import { silentLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import { Meta } from "../store/meta.ts";
import { Readers } from "../store/readers.ts";
import { topicDdl } from "../store/topics.ts";
import { Writer } from "../store/writer.ts";
import type { Message, Result } from "../types.ts";
import { FakeClock } from "../fake_clock.ts";
import { Windower } from "./windower.ts";

const T0 = Date.UTC(2030, 0, 1);
const GRACE = 3_600_000;

const SESSION_SQL = `SELECT count(*) AS n, sum(json_extract(payload, '$.v')) AS total
  FROM events WHERE json_extract(payload, '$.user') = :session_key
  AND json_extract(payload, '$.t') >= :window_start AND json_extract(payload, '$.t') < :window_end`;
const TUMBLING_SQL = `SELECT count(*) AS n, max(json_extract(payload, '$.v')) AS top,
  group_concat(key, ',') AS keys FROM (SELECT key, payload FROM events
  WHERE json_extract(payload, '$.t') >= :window_start AND json_extract(payload, '$.t') < :window_end
  ORDER BY key)`;

const yaml = `
engine: { shard_count: 3 }
sources: [{ name: in, type: http, path: /in, topic: events, key: id }]
sinks: [{ name: out, type: sqlite, path: ./out.db }]
windows:
  - name: sessions
    type: session
    gap: 5s
    key: user
    time: t
    grace: ${GRACE}ms
    sql: ${JSON.stringify(SESSION_SQL)}
    sinks: [out]
  - name: live
    type: session
    gap: 5s
    key: user
    time: t
    grace: ${GRACE}ms
    emit: update
    sql: ${JSON.stringify(SESSION_SQL)}
    sinks: [out]
  - name: tumbling
    type: tumbling
    size: 2s
    time: t
    grace: ${GRACE}ms
    sql: ${JSON.stringify(TUMBLING_SQL)}
    sinks: [out]
`;

/** A small seeded PRNG (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random writes whose event times fall in `[from, from + span)`; keys of `prefix`. */
function writes(rand: () => number, prefix: string, from: number, span: number, n: number) {
  const out: Message[] = [];
  const live: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.15 && live.length) {
      const key = live.splice(Math.floor(rand() * live.length), 1)[0];
      out.push({ topic: "events", key, payload: {}, timestamp: T0, _change: { op: "delete" } });
      continue;
    }
    const key = r < 0.35 && live.length ? live[Math.floor(rand() * live.length)] : `${prefix}${i}`;
    if (!live.includes(key)) live.push(key);
    const payload = {
      user: `u${Math.floor(rand() * 4)}`,
      // Whole quarter seconds, so that events fall on window bounds.
      t: T0 + from + 250 * Math.floor(rand() * (span / 250)),
      v: Math.floor(rand() * 100),
    };
    out.push({ topic: "events", key, payload, timestamp: T0 });
  }
  return out;
}

for (const seed of [18, 7, 2026]) {
  Deno.test(`windows with updates and deletes equal their SQL over the final data, across a restart (seed ${seed})`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "litejoin-windows-diff-" });
    const config = parseConfig(yaml, `${dir}/litejoin.yaml`);
    const writer = await Writer.open({
      dataDir: dir,
      shardCount: 3,
      topics: config.topicNames,
      flushIntervalMs: 1,
      batchSize: 50,
      maxBacklog: 100_000,
      indexes: engineIndexes(config),
    });
    const readers = await Readers.open(
      { dataDir: dir, shardCount: 3, topics: config.topicNames, busyTimeoutMs: 1000 },
      2,
    );
    const meta = new Meta(`${dir}/meta.db`);
    const clock = new FakeClock(T0);
    const delivered: Result[] = [];
    const sink = {
      deliver: (results: readonly Result[]) => (delivered.push(...results), Promise.resolve()),
    };
    const windower = () =>
      Windower.fromConfig(config, new Map([["out", sink]]), {
        readers,
        writer,
        meta,
        clock,
        timers: clock,
        log: silentLogger,
        metrics: new Metrics(),
      });
    const final = new Map<string, Message>();
    const rand = random(seed);
    /** Writes in batches, then moves the clock past every close (grace included). */
    const round = async (w: Windower, messages: Message[]) => {
      for (let i = 0; i < messages.length; i += 40) {
        await writer.write(messages.slice(i, i + 40));
        await w.idle();
      }
      for (const m of messages) {
        if (m._change?.op === "delete") final.delete(m.key);
        else final.set(m.key, m);
      }
      clock.advance(2 * GRACE);
      await w.idle();
      while (clock.due) {
        clock.advance(0);
        await w.idle();
      }
    };
    try {
      let w = windower();
      let unlisten = writer.onCommit((batch) => w.onCommit(batch));
      await w.start();
      await round(w, writes(rand, "a", 0, 60_000, 400));
      const first = delivered.length;
      assert.ok(first > 20, `the first round closed ${first} windows`);
      // A restart between rounds: the second round's windows start after the first's closed.
      await w.stop();
      unlisten();
      w = windower();
      unlisten = writer.onCommit((batch) => w.onCommit(batch));
      await w.start();
      await round(w, writes(rand, "b", 2 * GRACE + 10_000, 60_000, 400));
      assert.ok(delivered.length > first);
      await w.stop();
      unlisten();

      const db = new DatabaseSync(":memory:");
      db.exec(topicDdl("events"));
      const insert = db.prepare("INSERT INTO events VALUES (?, ?, ?, 0, NULL)");
      for (const m of final.values()) insert.run(m.key, JSON.stringify(m.payload), m.timestamp);
      const sessions = db.prepare(SESSION_SQL);
      const tumbling = db.prepare(TUMBLING_SQL);
      // emit: update ends where emit: close does: after its updates and deletions, each
      // session's final row, equal to the closed session's.
      const live = new Map<string, Record<string, unknown>>();
      for (const result of delivered.filter((r) => r.name === "live")) {
        if (result._change?.op === "delete") live.delete(result.key);
        else live.set(result.key, result.row);
      }
      const closedSessions = new Map(
        delivered.filter((r) => r.name === "sessions").map((r) => [r.key, r.row]),
      );
      assert.deepEqual(
        new Map([...live].map(([key, { window_final, ...row }]) => {
          assert.equal(window_final, true, `${key} is final`);
          return [key, row];
        })),
        closedSessions,
      );
      assert.ok(delivered.some((r) => r.name === "live" && r.row.window_final === false));

      const seen = new Set<string>();
      for (const result of delivered.filter((r) => r.name !== "live")) {
        const { window_start: start, window_end: end, session_key: key, ...row } = result.row as {
          window_start: number;
          window_end: number;
          session_key?: string;
        };
        assert.ok(!seen.has(`${result.name} ${result.key}`), `${result.key} delivered once`);
        seen.add(`${result.name} ${result.key}`);
        const params = { window_start: BigInt(start), window_end: BigInt(end) };
        const expected = result.name === "sessions"
          ? sessions.get({ ...params, session_key: key! })
          : tumbling.get(params);
        assert.deepEqual(row, { ...expected }, `${result.name} ${result.key}`);
      }
      // Every event of the final data was counted in a session of its user and a tumbling window.
      for (const m of final.values()) {
        const { user, t } = m.payload as { user: string; t: number };
        const inSession = delivered.some((r) =>
          r.name === "sessions" && r.row.session_key === user &&
          (r.row.window_start as number) <= t && t < (r.row.window_end as number)
        );
        const inTumbling = delivered.some((r) =>
          r.name === "tumbling" && (r.row.window_start as number) <= t &&
          t < (r.row.window_end as number) && String(r.row.keys).split(",").includes(m.key)
        );
        assert.ok(inSession && inTumbling, `${m.key} at ${t - T0} is in its windows`);
      }
      db.close();
    } finally {
      readers.close();
      await writer.close();
      meta.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
