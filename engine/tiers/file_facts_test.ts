import assert from "node:assert/strict";
import { openDuck } from "./duck.ts";
import { FileFacts } from "./file_facts.ts";

async function withFiles(
  fn: (
    facts: FileFacts,
    write: (name: string, rows: string) => Promise<string>,
    dir: string,
  ) => Promise<void>,
) {
  const dir = await Deno.makeTempDir();
  const duck = await openDuck({ threads: 1 });
  const write = async (name: string, rows: string) => {
    const path = `${dir}/${name}.parquet`;
    await duck.con.run(
      `COPY (SELECT * FROM (VALUES ${rows}) t(key, payload, timestamp, _seq, _change)) TO '${path}' (FORMAT parquet)`,
    );
    return path;
  };
  try {
    await fn(new FileFacts(duck.con, `${dir}/facts`), write, dir);
  } finally {
    duck.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the keys needing a choice are those stored twice or deleted, remembered per file set", () =>
  withFiles(async (facts, write, dir) => {
    const a = await write("a", `('k1', '{"n":1}', 1, 1, NULL), ('k2', '{"n":true}', 2, 2, NULL)`);
    const b = await write(
      "b",
      `('k1', '{"n":2.5}', 9, 9, NULL), ('k3', NULL, 9, 10, '{"op":"delete"}'), ('k4', '{}', 9, 11, NULL)`,
    );
    assert.deepEqual((await facts.repeatedKeys([a, b]) as string[]).sort(), ["k1", "k3"]);
    assert.deepEqual(await facts.repeatedKeys([a]), []);
    // the answer is kept: a second call reads it back (here doctored, to show it is not recomputed)
    const [entry] = [...Deno.readDirSync(`${dir}/facts/repeated`)].filter((e) =>
      Deno.readTextFileSync(`${dir}/facts/repeated/${e.name}`).includes("k3")
    );
    Deno.writeTextFileSync(`${dir}/facts/repeated/${entry.name}`, '["doctored"]');
    assert.deepEqual(await facts.repeatedKeys([b, a]), ["doctored"]);
    // a file that changes is a new file
    await new Promise((r) => setTimeout(r, 5));
    await write("b", `('k1', '{"n":2.5}', 9, 9, NULL)`);
    assert.deepEqual(await facts.repeatedKeys([a, b]), ["k1"]);
  }));

Deno.test("JSON types are found per file and merged, scanning each file for a path once", () =>
  withFiles(async (facts, write, dir) => {
    const a = await write("a", `('k1', '{"n":1,"s":"x"}', 1, 1, NULL)`);
    const b = await write("b", `('k2', '{"n":2.5}', 2, 2, NULL), ('k3', '{"n":null}', 3, 3, NULL)`);
    const n = { column: "payload", path: "$.n" };
    const s = { column: "payload", path: "$.s" };
    const first = await facts.jsonTypes([a, b], [n]);
    assert.deepEqual(first.get("payload $.n")!.sort(), ["DOUBLE", "NULL", "UBIGINT"]);
    const both = await facts.jsonTypes([a, b], [n, s]);
    assert.deepEqual(both.get("payload $.s")!.map(String).sort(), ["VARCHAR", "null"]);
    assert.equal([...Deno.readDirSync(`${dir}/facts/types`)].length, 2, "one entry per file");
  }));
