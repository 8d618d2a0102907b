import assert from "node:assert/strict";
import { parseConfig } from "../config/load.ts";
import { engineIndexes } from "../indexes.ts";
import { indexName } from "../store/indexes.ts";
import { Readers } from "../store/readers.ts";
import { Shard, shardPath } from "../store/shard.ts";
import { DatabaseSync } from "node:sqlite";
import { comparedColumns, windowIndexes } from "./indexes.ts";
import { windowScans } from "./plan.ts";

const SHARDS = 3;

const config = (windows: string) =>
  parseConfig(
    `
sources:
  - { name: bids_in, type: http, path: /bids, topic: bids, key: id }
  - { name: people_in, type: http, path: /people, topic: people, key: id }
sinks: [{ name: out, type: sqlite, path: ./out.db }]
windows:
${windows}`,
    "/tmp/litejoin.yaml",
  );

const SESSION = `
  - name: visits
    type: session
    gap: 1m
    key: user.id
    sql: |
      SELECT count(*) AS n FROM bids
      WHERE json_extract(payload, '$.user.id') = :session_key
        AND timestamp BETWEEN :window_start AND :window_end
    sinks: [out]`;

const PAYLOAD_TIME = `
  - name: per_minute
    type: tumbling
    size: 1m
    time: t
    sql: |
      SELECT max(json_extract(b.payload, '$.price')) AS top FROM bids AS b
      WHERE :window_start <= json_extract(b.payload, '$.t') AND json_extract(b.payload, '$.t') < :window_end
    sinks: [out]`;

const described = (windows: string) => {
  const c = config(windows);
  return c.windows.flatMap((w) => windowIndexes(w, c.windowSql.get(w.name)!))
    .map((i) => `${i.topic} ${i.path}${i.then ? ` then ${i.then}` : ""}`);
};

const session = (where: string) => `
  - name: s
    type: session
    gap: 1m
    key: who
    sql: |
      SELECT count(*) AS n FROM bids WHERE ${where.replace(/\n\s*/g, "\n        ")}
    sinks: [out]`;

Deno.test("a session window's key is indexed with its event time, a payload time alone", () => {
  assert.deepEqual(described(SESSION), ["bids $.user.id then timestamp"]);
  assert.deepEqual(described(PAYLOAD_TIME), ["bids $.t"]);
  assert.deepEqual(
    described(session(`:session_key = json_extract(payload, '$.who')
        AND json_extract(payload, '$.at') >= :window_start AND json_extract(payload, '$.at') < :window_end`)),
    ["bids $.who then json_extract(payload, '$.at')"],
  );
  // The README's pattern for ISO-8601 times: the expression itself is indexed.
  assert.deepEqual(
    described(session(`JSON_EXTRACT(payload, '$.user.id') = :session_key
        AND unixepoch(json_extract(payload, '$.occurred_at'), 'subsec') * 1000 >= :window_start
        AND unixepoch(json_extract(payload, '$.occurred_at'), 'subsec') * 1000 <  :window_end`)),
    ["bids $.user.id then unixepoch(json_extract(payload, '$.occurred_at'), 'subsec') * 1000"],
  );
});

Deno.test("window SQL over the message timestamp needs no index beyond the topic's own", () => {
  assert.deepEqual(
    described(`
  - name: w
    type: tumbling
    size: 1m
    sql: SELECT count(*) AS n FROM bids WHERE timestamp >= :window_start AND timestamp < :window_end
    sinks: [out]`),
    [],
  );
  // Nor does a key compared with the message key (the primary key).
  assert.deepEqual(
    described(session("key = :session_key AND timestamp BETWEEN :window_start AND :window_end")),
    [],
  );
});

Deno.test("what SQLite refuses in an index is not asked for: random(), 'now'", () => {
  assert.deepEqual(
    described(session(`json_extract(payload, '$.who') || random() = :session_key
      AND timestamp - unixepoch('now') >= :window_start AND timestamp < :window_end`)),
    [],
  );
});

Deno.test("the operand compared with a parameter is one topic's row expression, whole", () => {
  const compared = (sql: string) =>
    comparedColumns(sql, { topics: ["bids", "people"], topic: "bids" }).map((c) =>
      `${c.topic}: ${c.expression} ~ ${c.param}`
    );
  assert.deepEqual(
    compared(`SELECT 1 FROM bids WHERE timestamp + 5 >= :window_start
      AND (json_extract(payload, '$.t') * 1000 < :window_end)
      AND payload ->> '$.u' = :session_key OR lower(json_extract(payload, '$.n')) = :session_key
      AND ':window_start' = json_extract(payload, '$.x') AND random() < :window_end
      AND (SELECT max(timestamp) FROM people) < :window_end`),
    [
      "bids: timestamp + 5 ~ window_start",
      "bids: json_extract(payload, '$.t') * 1000 ~ window_end",
      "bids: payload ->> '$.u' ~ session_key",
      "bids: lower(json_extract(payload, '$.n')) ~ session_key",
    ],
  );
  // Columns resolve through aliases; an operand over two topics, and NOT BETWEEN, read no range.
  assert.deepEqual(
    compared(`SELECT 1 FROM bids b JOIN people AS p ON p.key = json_extract(b.payload, '$.p')
      WHERE json_extract(p.payload, '$.id') = :session_key
        AND b.timestamp NOT BETWEEN :window_start AND :window_end
        AND b.timestamp + p.timestamp < :window_end AND "b"."timestamp" >= :window_start`),
    ["people: json_extract(payload, '$.id') ~ session_key", "bids: timestamp ~ window_start"],
  );
});

/** Shards holding `bids` with the indexes the engine derives for `windows`. */
async function shardsFor(windows: string) {
  const c = config(windows);
  const dir = await Deno.makeTempDir({ prefix: "litejoin-window-indexes-" });
  const indexes = engineIndexes(c);
  for (let i = 0; i < SHARDS; i++) {
    const shard = new Shard(i, shardPath(dir, i), c.topicNames, { indexes });
    shard.apply(
      Array.from({ length: 500 }, (_, n) => [
        "bids",
        `b${i}-${n}`,
        JSON.stringify({ user: { id: `u${n % 40}` }, t: n * 1000, price: n }),
        n * 1000,
        null,
      ]),
    );
    shard.close();
  }
  const readers = await Readers.open(
    { dataDir: dir, shardCount: SHARDS, topics: c.topicNames, busyTimeoutMs: 1000 },
    1,
  );
  return { c, dir, indexes, readers };
}

const ISO_SESSION = session(`json_extract(payload, '$.user.id') = :session_key
  AND unixepoch(json_extract(payload, '$.at'), 'subsec') * 1000 >= :window_start
  AND unixepoch(json_extract(payload, '$.at'), 'subsec') * 1000 < :window_end`);

for (
  const [kind, windows] of [
    ["session", SESSION],
    ["payload-time", PAYLOAD_TIME],
    ["ISO-8601 session", ISO_SESSION],
  ]
) {
  Deno.test(`a ${kind} window's index exists in every shard and its SQL searches it in each`, async () => {
    const { c, dir, indexes, readers } = await shardsFor(windows);
    try {
      assert.equal(indexes.length, 1);
      const name = indexName(indexes[0]);
      for (let i = 0; i < SHARDS; i++) {
        const db = new DatabaseSync(shardPath(dir, i), { readOnly: true });
        const found = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name = ?")
          .all(name);
        db.close();
        assert.equal(found.length, 1, `shard ${i} has ${name}`);
      }
      const window = c.windows[0];
      const parameters = c.windowSql.get(window.name)!.parameters;
      assert.deepEqual(await windowScans(window.sql, parameters, readers), []);
      const plan = (await readers.all(
        `EXPLAIN QUERY PLAN ${window.sql}`,
        {
          window_start: 0n,
          window_end: 1n,
          ...(parameters.includes("session_key") ? { session_key: "u" } : {}),
        },
      )).map((r) => String(r.detail));
      const searches = plan.filter((d) => d.startsWith("SEARCH s") && d.includes(name));
      assert.equal(searches.length, SHARDS, plan.join("\n"));
      // The statement with its indexes defeated (unary +) scans the topic.
      const unindexed = window.sql.replace(/json_extract\(/g, "+json_extract(")
        .replace(/\btimestamp\b/g, "+timestamp");
      assert.deepEqual(await windowScans(unindexed, parameters, readers), ["bids"]);
    } finally {
      readers.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
