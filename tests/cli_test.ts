import assert from "node:assert/strict";
import { cli, startReceiver, topicKeys } from "./_helpers.ts";
import { spawnEngine } from "./_process.ts";
import { sinkKinds } from "../engine/sinks/registry.ts";

async function dirWith(yaml: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-cli-" });
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, yaml);
  return dir;
}

const SIMPLE = `
http: { listen: "127.0.0.1:0" }
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
`;

Deno.test("litejoin validate says ok for a good file and exits 0", async () => {
  const dir = await dirWith(SIMPLE);
  const { code, stdout } = await cli(["validate", "-c", `${dir}/litejoin.yaml`]);
  assert.equal(code, 0);
  assert.match(stdout, /litejoin\.yaml: ok \(1 source, 0 joins, 0 sinks; topics: events\)/);
});

Deno.test("litejoin validate and run print each config problem on one line and exit 2", async () => {
  const dir = await dirWith(
    `engine:\n  shard_count: zero\nsinks:\n  - { name: s, type: webhook }\n`,
  );
  for (const command of ["validate", "run"]) {
    const { code, stderr } = await cli([command, "-c", `${dir}/litejoin.yaml`]);
    assert.equal(code, 2, command);
    assert.equal(
      stderr.trim(),
      [
        `${dir}/litejoin.yaml:2:16: engine.shard_count: expected an integer, found "zero"`,
        `${dir}/litejoin.yaml:4:22: sinks[0].type: "webhook" is not one of ${
          Object.keys(sinkKinds).join(", ")
        }`,
      ].join("\n"),
    );
  }
});

Deno.test("the default litejoin.yaml validates", async () => {
  const file = new URL("../litejoin.yaml", import.meta.url).pathname;
  const { code, stdout } = await cli(["validate", "-c", file]);
  assert.equal(code, 0, stdout);
});

Deno.test("litejoin run refuses a data directory written with another shard count, exit 3", async () => {
  const dir = await dirWith(SIMPLE);
  const engine = await spawnEngine(dir);
  engine.child.kill("SIGTERM");
  assert.equal((await engine.exited).code, 0);
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    SIMPLE.replace("shard_count: 2", "shard_count: 3"),
  );
  const { code, stderr } = await cli(["run", "-c", `${dir}/litejoin.yaml`]);
  assert.equal(code, 3);
  assert.match(
    stderr.trim(),
    /^litejoin: .*data holds 2 shards but engine.shard_count is 3; set shard_count: 2, or rewrite the data with litejoin reshard --to 3$/,
  );
});

Deno.test("litejoin run refuses a data directory another engine is using, exit 3", async () => {
  const dir = await dirWith(SIMPLE);
  const engine = await spawnEngine(dir);
  try {
    const { code, stderr } = await cli(["run", "-c", `${dir}/litejoin.yaml`]);
    assert.equal(code, 3);
    assert.match(stderr, /is in use by another litejoin process/);
  } finally {
    engine.child.kill("SIGTERM");
    await engine.exited;
  }
});

Deno.test("litejoin run on SIGTERM commits accepted input and finishes deliveries before exiting", async () => {
  const receiver = await startReceiver();
  // A slow webhook: deliveries are still in flight when the signal arrives.
  const slow = receiver.respond;
  const dir = await dirWith(`${SIMPLE}
joins:
  - { name: copy, key: id, sql: "SELECT key AS id, payload FROM events", sinks: [hook] }
sinks:
  - { name: hook, type: http, url: "${receiver.url}", max_batch: 10 }
`);
  receiver.respond = (n) => {
    const until = Date.now() + 50;
    while (Date.now() < until) { /* hold the answer */ }
    return slow(n);
  };
  const engine = await spawnEngine(dir);
  const accepted: string[] = [];
  await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const response = await fetch(`${engine.url}/in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: `e${i}` }),
    });
    if (response.status === 202) accepted.push(`e${i}`);
    await response.body?.cancel();
  }));
  engine.child.kill("SIGTERM");
  const status = await engine.exited;
  assert.equal(status.code, 0, engine.log());
  assert.equal(accepted.length, 20);
  assert.deepEqual([...topicKeys(`${dir}/data`, "events", 2)].sort(), accepted.sort());
  const delivered = new Set(receiver.results().map((r) => r.key));
  assert.deepEqual([...delivered].sort(), accepted.sort());
  assert.match(engine.log(), /SIGTERM: shutting down[\s\S]*stopped/);
  await receiver.stop();
});

Deno.test("litejoin run without a config file says so in one line, exit 2", async () => {
  const dir = await Deno.makeTempDir();
  const { code, stderr } = await cli(["run"], { cwd: dir });
  assert.equal(code, 2);
  assert.equal(
    stderr.trim(),
    "litejoin.yaml: cannot read the config: no such file (pass another with -c FILE; litejoin init writes a starter one)",
  );
});

Deno.test("litejoin init writes the starter config, which validates; it never overwrites unasked", async () => {
  const dir = await Deno.makeTempDir();
  const written = await cli(["init"], { cwd: dir });
  assert.equal(written.code, 0, written.stderr);
  assert.match(written.stdout, /^wrote litejoin\.yaml: .*litejoin run -c litejoin\.yaml\n$/);
  assert.equal(
    await Deno.readTextFile(`${dir}/litejoin.yaml`),
    await Deno.readTextFile(new URL("../litejoin.yaml", import.meta.url)),
  );
  const valid = await cli(["validate"], { cwd: dir });
  assert.equal(valid.code, 0, valid.stderr);
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, "# mine\n");
  const again = await cli(["init"], { cwd: dir });
  assert.equal(again.code, 2);
  assert.equal(
    again.stderr.trim(),
    "litejoin: litejoin.yaml already exists; pass --force to overwrite it",
  );
  assert.equal(await Deno.readTextFile(`${dir}/litejoin.yaml`), "# mine\n");
  assert.equal((await cli(["init", "--force"], { cwd: dir })).code, 0);
  assert.notEqual(await Deno.readTextFile(`${dir}/litejoin.yaml`), "# mine\n");
});

Deno.test("litejoin healthcheck exits 0 against a running engine and 1 when none answers", async () => {
  const dir = await dirWith(SIMPLE);
  const engine = await spawnEngine(dir);
  try {
    const port = new URL(engine.url).port;
    const up = await cli(["healthcheck", "--url", `${engine.url}/healthz`]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /"status":"ok"/);
    await Deno.writeTextFile(
      `${dir}/litejoin.yaml`,
      SIMPLE.replace('"127.0.0.1:0"', `"127.0.0.1:${port}"`),
    );
    assert.equal((await cli(["healthcheck", "-c", `${dir}/litejoin.yaml`])).code, 0);
    const ready = await cli(["healthcheck", "--ready", "-c", `${dir}/litejoin.yaml`]);
    assert.equal(ready.code, 0, ready.stderr);
    assert.match(ready.stdout, /\/readyz: \{"status":"ready"\}/);
  } finally {
    engine.child.kill("SIGTERM");
    await engine.exited;
  }
  const down = await cli(["healthcheck", "-c", `${dir}/litejoin.yaml`]);
  assert.equal(down.code, 1);
  assert.match(
    down.stderr.trim(),
    /^litejoin: http:\/\/127\.0\.0\.1:\d+\/healthz did not answer: /,
  );
});

Deno.test("litejoin healthcheck --ready exits 1 with the reasons while the engine is not ready", async () => {
  const body = { status: "not ready", reasons: [{ check: "disk", message: "shard 0 full" }] };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json(body, { status: 503 }),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/readyz`;
    const out = await cli(["healthcheck", "--ready", "--url", url]);
    assert.equal(out.code, 1);
    assert.equal(out.stderr.trim(), `litejoin: ${url} answered 503: ${JSON.stringify(body)}`);
  } finally {
    await server.shutdown();
  }
});
