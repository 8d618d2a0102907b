import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openDuck } from "./duck.ts";
import { exportShard, fileVersions, parquetRelation, writeParquet } from "./parquet.ts";
import { topicDdl } from "../store/topics.ts";

const ODD = [
  JSON.stringify({ s: 'quote " backslash \\ slash / tab \t nl \n', u: "é中😀", c: "\u0001\u001f" }),
  JSON.stringify({ big: "9007199254740993", n: 1e21, neg: -0.000001 }),
  '{"raw":   "not minified" ,  "x":1.0}',
  JSON.stringify({ k: "it's" }),
];

async function shardWith(rows: [string, string, number, number][]) {
  const dir = await Deno.makeTempDir();
  const db = new DatabaseSync(`${dir}/shard_0.db`);
  db.exec("PRAGMA journal_mode = WAL" + ";" + topicDdl("orders"));
  const insert = db.prepare(
    "INSERT INTO orders (key, payload, timestamp, _seq, _change) VALUES (?, ?, ?, ?, ?)",
  );
  db.exec("BEGIN");
  for (const [key, payload, timestamp, seq] of rows) {
    insert.run(key, payload, timestamp, seq, seq % 2 ? '{"op":"update"}' : null);
  }
  db.exec("COMMIT");
  db.exec(`CREATE TABLE _litejoin_shard (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
           INSERT INTO _litejoin_shard VALUES (0, ${Math.max(...rows.map((r) => r[3]))})`);
  db.close();
  return dir;
}

async function exportAll(dir: string, from: number, to: number) {
  const ndjson = `${dir}/out.ndjson`;
  const out = await Deno.open(ndjson, { write: true, create: true, truncate: true });
  try {
    const exported = await exportShard({
      shardPath: `${dir}/shard_0.db`,
      shard: 0,
      topic: "orders",
      from,
      to,
    }, out);
    return { ndjson, exported };
  } finally {
    out.close();
  }
}

Deno.test("rows reach Parquet byte for byte, and exactly those in the time range", async () => {
  const rows: [string, string, number, number][] = ODD.map((
    p,
    i,
  ) => [`k'${i}\n`, p, 1000 + i, 10 + i]);
  for (let i = 0; i < 25_000; i++) rows.push([`n${i}`, JSON.stringify({ i }), 5000 + i, 100 + i]);
  const dir = await shardWith(rows);
  const duck = await openDuck({ threads: 2 });
  try {
    const odd = await exportAll(dir, 1000, 2000);
    assert.deepEqual(odd.exported, {
      shard: 0,
      rows: ODD.length,
      tombstones: 0,
      seq: 100 + 24_999,
    });
    const path = `${dir}/orders.parquet`;
    assert.equal(await writeParquet(duck.con, odd.ndjson, path, ODD.length), ODD.length);
    const back = (await duck.con.runAndReadAll(
      `SELECT key, payload, timestamp, _seq, _change FROM ${parquetRelation([path])} ORDER BY _seq`,
    )).getRowsJS();
    assert.deepEqual(
      back.map((r) => r.map((v) => typeof v === "bigint" ? Number(v) : v)),
      rows.slice(0, ODD.length).map((
        [k, p, t, s],
      ) => [k, p, t, s, s % 2 ? '{"op":"update"}' : null]),
    );
    // paging across many chunks
    const many = await exportAll(dir, 5000, 5000 + 25_000);
    assert.equal(many.exported.rows, 25_000);
    const keys = (await Deno.readTextFile(many.ndjson)).trim().split("\n").map((l) =>
      JSON.parse(l).key
    );
    assert.equal(new Set(keys).size, 25_000);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes(".tmp"));
    assert.deepEqual(names, [], "no temporary file remains");
  } finally {
    duck.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed write leaves the existing file as it was and no temporary file", async () => {
  const dir = await shardWith([["a", "{}", 1, 1], ["b", "{}", 2, 2]]);
  const duck = await openDuck({ threads: 1 });
  try {
    const path = `${dir}/orders.parquet`;
    const first = await exportAll(dir, 0, 10);
    await writeParquet(duck.con, first.ndjson, path, 2);
    const before = await Deno.readFile(path);
    await Deno.writeTextFile(
      `${dir}/bad.ndjson`,
      '{"key": "c", "payload": "{}", "timestamp": "x"}\n',
    );
    await assert.rejects(writeParquet(duck.con, `${dir}/bad.ndjson`, path, 1));
    await assert.rejects(writeParquet(duck.con, first.ndjson, path, 3), /wrote 3 rows, read 2/);
    assert.deepEqual(await Deno.readFile(path), before);
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".tmp")), []);
    const versions = [];
    for await (const batch of fileVersions(duck.con, path)) versions.push(...batch.keys);
    assert.deepEqual(versions.sort(), ["a", "b"]);
  } finally {
    duck.close();
    await Deno.remove(dir, { recursive: true });
  }
});
