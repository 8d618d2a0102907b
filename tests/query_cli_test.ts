import assert from "node:assert/strict";
import { cli, topicKeys, waitFor } from "./_helpers.ts";
import { spawnEngine } from "./_process.ts";

const CONFIG = `
http: { listen: "127.0.0.1:0" }
engine: { data_dir: ./data, shard_count: 2, retention: 1s, retention_interval: 200ms }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
tiering: { enabled: true, partition: 1s }
`;

async function post(url: string, rows: unknown[]) {
  const response = await fetch(`${url}/in`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(rows),
  });
  await response.body?.cancel();
  assert.equal(response.status, 202);
}

Deno.test("litejoin query reads hot and warm tiers beside a running engine, as a table, JSON or CSV", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-query-" });
  const file = `${dir}/litejoin.yaml`;
  await Deno.writeTextFile(file, CONFIG);
  const first = await spawnEngine(dir);
  await post(
    first.url,
    Array.from({ length: 500 }, (_, i) => ({ id: `e${i}`, n: i, even: i % 2 === 0 })),
  );
  await waitFor("the rows to go warm", () => topicKeys(`${dir}/data`, "events", 2).size === 0);
  first.child.kill("SIGTERM");
  assert.equal((await first.exited).code, 0, first.log());
  // The same data, now with a retention that keeps new rows hot while we ask.
  await Deno.writeTextFile(file, CONFIG.replace("retention: 1s", "retention: 1h"));
  const engine = await spawnEngine(dir);
  try {
    await post(
      engine.url,
      Array.from({ length: 10 }, (_, i) => ({ id: `h${i}`, n: 1000 + i, even: true })),
    );

    const count = async (tier: string) => {
      const out = await cli([
        "query",
        "-c",
        file,
        "--tier",
        tier,
        "--json",
        "SELECT count(*) AS n FROM events",
      ]);
      assert.equal(out.code, 0, out.stderr);
      return JSON.parse(out.stdout)[0].n;
    };
    assert.equal(await count("hot"), 10);
    assert.equal(await count("warm"), 500);
    assert.equal(await count("all"), 510);

    const csv = await cli([
      "query",
      "-c",
      file,
      "--csv",
      "SELECT key, json_extract(payload, '$.n') AS n, json_extract(payload, '$.even') AS even FROM events WHERE key IN ('e1', 'e2', 'h3') ORDER BY key",
    ]);
    assert.equal(csv.code, 0, csv.stderr);
    assert.equal(csv.stdout, "key,n,even\r\ne1,1,0\r\ne2,2,1\r\nh3,1003,1\r\n");

    const table = await cli([
      "query",
      "-c",
      file,
      "SELECT json_extract(payload, '$.even') AS even, count(*) FROM events GROUP BY 1 ORDER BY 1",
    ]);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(
      table.stdout,
      "even | count(*)\n-----+---------\n   0 |      250\n   1 |      260\n(2 rows)\n",
    );

    const history = await cli([
      "query",
      "-c",
      file,
      "--history",
      "--json",
      "SELECT _tier, count(*) AS n FROM events GROUP BY 1 ORDER BY 1",
    ]);
    assert.deepEqual(JSON.parse(history.stdout), [{ _tier: "hot", n: 10 }, {
      _tier: "warm",
      n: 500,
    }]);

    const limited = await cli([
      "query",
      "-c",
      file,
      "--max-rows",
      "3",
      "--json",
      "SELECT key FROM events ORDER BY key",
    ]);
    assert.equal(JSON.parse(limited.stdout).length, 3);
    assert.match(limited.stderr, /showing the first 3 rows/);
  } finally {
    engine.child.kill("SIGTERM");
    assert.equal((await engine.exited).code, 0, engine.log());
  }
});

Deno.test("litejoin query says what is wrong in one line and exits 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-query-" });
  const file = `${dir}/litejoin.yaml`;
  await Deno.writeTextFile(file, CONFIG);
  const engine = await spawnEngine(dir);
  engine.child.kill("SIGTERM");
  await engine.exited;
  const cases: [string[], RegExp][] = [
    [["--tier", "warm", "SELEC 1"], /^litejoin: query: syntax error at or near "SELEC"$/],
    [
      ["--tier", "warm", "SELECT nope FROM events"],
      /^litejoin: query: Binder Error: Referenced column "nope" not found/,
    ],
    [["--tier", "hot", "SELECT nope FROM events"], /^litejoin: query: no such column: nope$/],
    [["--tier", "all", "DELETE FROM events"], /^litejoin: query: only a SELECT can be queried$/],
    [["--tier", "cold", "SELECT 1"], /has no tiering\.cold, so there is no cold tier to query$/],
    [["--tier", "lukewarm", "SELECT 1"], /argument 'lukewarm' is invalid/],
    [["--json", "--csv", "SELECT 1"], /cannot be used with option '--csv'/],
  ];
  for (const [args, expected] of cases) {
    const out = await cli(["query", "-c", file, ...args]);
    assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr.trim().split("\n")[0], expected, args.join(" "));
    assert.doesNotMatch(out.stderr, /\n\s+at /, "no stack trace");
  }
  const missing = await cli(["query", "-c", `${dir}/nope.yaml`, "SELECT 1"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.yaml: cannot read the config: no such file/);
});

Deno.test("litejoin query fails on a runtime error part-way through, never answering with the rows before it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-query-" });
  const file = `${dir}/litejoin.yaml`;
  await Deno.writeTextFile(
    file,
    CONFIG.replace(/\ntiering:.*\n/, "\n").replace("retention: 1s", "retention: 1h"),
  );
  const engine = await spawnEngine(dir);
  await post(engine.url, [{ id: "a1" }, { id: "b2" }, { id: "c3" }]);
  engine.child.kill("SIGTERM");
  await engine.exited;
  const ok = await cli([
    "query",
    "-c",
    file,
    "--tier",
    "hot",
    "--json",
    "SELECT key FROM events ORDER BY key",
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).map((r: { key: string }) => r.key), ["a1", "b2", "c3"]);
  // Every key but the last makes valid JSON; the failing row comes after the others.
  const sql =
    "SELECT json_extract(CASE WHEN key = 'c3' THEN 'x' ELSE '{}' END, '$') AS v FROM events ORDER BY key";
  const failed = await cli(["query", "-c", file, "--tier", "hot", sql]);
  assert.equal(failed.code, 2, failed.stdout);
  assert.equal(failed.stderr.trim(), "litejoin: query: malformed JSON");
  assert.equal(failed.stdout, "");
});
