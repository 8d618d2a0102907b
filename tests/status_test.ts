import assert from "node:assert/strict";
import { cli, startEngine, startReceiver, waitFor } from "./_helpers.ts";

Deno.test("litejoin status and tui say in one line that no engine listens, exit 4, and leave the terminal alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-status-" });
  const socket = `${dir}/nothing.sock`;
  for (const command of ["status", "tui"]) {
    const { code, stdout, stderr } = await cli([command, "--socket", socket]);
    assert.equal(code, 4, command);
    assert.equal(stdout, "");
    assert.equal(
      stderr,
      `litejoin: no engine is listening at ${socket} (start one with litejoin run -c FILE, or point at it with --socket PATH)\n`,
    );
  }
  // A socket file left behind by an engine that died answers nothing either.
  await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `Deno.listen({ transport: "unix", path: ${JSON.stringify(socket)} }); Deno.exit(0)`,
    ],
  }).output();
  assert.equal((await cli(["status", "--socket", socket])).code, 4);
  // Without --socket, the config file names the socket.
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, "engine: { data_dir: ./data }\n");
  const fromConfig = await cli(["status", "-c", `${dir}/litejoin.yaml`]);
  assert.equal(fromConfig.code, 4);
  assert.match(
    fromConfig.stderr,
    new RegExp(`no engine is listening at ${dir}/data/litejoin\\.sock`),
  );
});

Deno.test("litejoin status prints the engine's health as text or JSON, and exits 5 when something fails", async () => {
  const receiver = await startReceiver();
  receiver.respond = () => 400;
  const t = await startEngine(`engine: { data_dir: ./data, shard_count: 2 }
control: { stats_interval: 100ms }
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
joins:
  - { name: copy, key: k, sql: "SELECT key AS k FROM orders", sinks: [hook] }
sinks:
  - { name: hook, type: http, url: "${receiver.url}", retries: 0 }
`);
  const socket = t.engine.config.engine.socket!;
  try {
    await t.post("/in", [{ id: "a" }, { id: "b" }]);
    let json = await cli(["status", "--socket", socket, "--json"]);
    const { info, stats } = JSON.parse(json.stdout);
    assert.equal(info.pid, Deno.pid);
    assert.deepEqual(info.topics, ["orders"]);
    assert.equal(stats.topics[0].rows, 2);
    assert.ok(stats.topics[0].bytes > 0, "bytes are measured for status");

    await waitFor("the failed delivery", () => receiver.requests > 0);
    await waitFor("the failure in the stats", async () => {
      json = await cli(["status", "--socket", socket, "--json"]);
      return JSON.parse(json.stdout).stats.status === "fail";
    });
    assert.equal(json.code, 5);
    const text = await cli(["status", "--socket", socket]);
    assert.equal(text.code, 5);
    assert.match(
      text.stdout,
      /^litejoin \S+ · pid \d+ · up \d+s · http 127\.0\.0\.1:\d+ · 2 shards · health: FAIL$/m,
    );
    assert.match(text.stdout, /^orders +2 +\d+(\.\d)? KB/m);
    assert.match(text.stdout, /^ok +join +copy +/m);
    assert.match(
      text.stdout,
      /^FAIL +sink +hook +0 sent .* 2 dead letters in the DLQ, oldest \d+s ago$/m,
    );
    assert.match(text.stdout, /DLQ: 2 waiting · hook: 0 retrying, 2 dead, oldest \d+s ago/);

    const noTerminal = await cli(["tui", "--socket", socket]);
    assert.equal(noTerminal.code, 2);
    assert.equal(
      noTerminal.stderr,
      "litejoin: tui needs a terminal on stdin and stdout; for scripts use litejoin status [--json]\n",
    );
  } finally {
    await t.stop();
    await receiver.stop();
  }
});
