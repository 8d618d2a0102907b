/**
 * `litejoin tui` in a real terminal (tmux), attached to an engine under load: keys in,
 * screens read back with capture-pane.
 */
import assert from "node:assert/strict";
import { CLI, startEngine, startReceiver, waitFor } from "./_helpers.ts";
import { ControlClient } from "../engine/mod.ts";
import type { DlqSummary } from "../engine/control/protocol.ts";
import { spawnEngine } from "./_process.ts";
import { Tmux } from "./_tmux.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const RUNAWAY =
  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c;";

function tui(socket: string, opts: { cols: number; rows: number; env?: Record<string, string> }) {
  return Tmux.start(["deno", "run", "-A", CLI, "tui", "--socket", socket], { ...opts, cwd: ROOT });
}

async function engineDir(extra = ""): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-tui-" });
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    `engine: { data_dir: ./data, shard_count: 2 }
http: { listen: "127.0.0.1:0" }
control: { sql_timeout: 2s }
sources:
  - { name: orders_in, type: http, path: /in, topic: orders, key: id }
  - name: customers_gen
    type: generate
    topic: customers
    rate: 200
    template: { id: "c-{{mod 500}}", name: "{{pick Ada Grace Ken}}" }
joins:
  - name: enriched
    key: order_id
    sql: |
      SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS name
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
    sinks: [results]
sinks:
  - { name: results, type: sqlite, path: ./data/results.db }
${extra}`,
  );
  return dir;
}

/**
 * Posts a batch of 50 orders every 20 ms (about 2,500 a second) until stopped, and counts
 * the batches accepted: steady load that leaves the machine to the other tests too.
 */
function load(url: string) {
  const state = { accepted: 0, stop: false };
  let n = 0;
  const done = (async () => {
    while (!state.stop) {
      const batch = Array.from(
        { length: 50 },
        () => ({ id: `o-${n++}`, customer_id: `c-${n % 500}` }),
      );
      const response = await fetch(`${url}/in`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(batch),
      });
      await response.body?.cancel();
      if (response.status === 202) state.accepted++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return { state, stop: async () => (state.stop = true, await done) };
}

function assertFits(screen: string, cols: number, rows: number) {
  const lines = screen.replace(/\n$/, "").split("\n");
  assert.equal(lines.length, rows, screen);
  for (const line of lines) assert.ok(line.length <= cols, `wider than ${cols}: ${line}`);
}

function assertCookedTty(stty: string) {
  for (const flag of ["icanon", "echo", "isig", "icrnl"]) {
    assert.match(stty, new RegExp(`(^|\\s)${flag}(\\s|$)`), `tty flag ${flag} restored`);
  }
}

for (const [cols, rows] of [[100, 30], [80, 24]]) {
  Deno.test(`litejoin tui at ${cols}x${rows}: dashboard, SQL query and its result, refused write, a long query cut off while ingest goes on, DLQ view, clean quit`, async () => {
    const dir = await engineDir();
    const engine = await spawnEngine(dir);
    const loader = load(engine.url);
    const socket = `${dir}/data/litejoin.sock`;
    const probe = await fetch(`${engine.url}/in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "probe-1", amount: 4242, customer_id: "c-1" }),
    });
    assert.equal(probe.status, 202);
    await probe.body?.cancel();
    const t = await tui(socket, { cols, rows });
    try {
      let screen = await t.waitForText(/orders +[\d,]+ /);
      await t.waitForRawMode();
      assertFits(screen, cols, rows);
      assert.match(screen, /● connected/);
      assert.match(screen, /s0 +[▁▂▃▄▅▆▇█ ]+ +[\d.]+k? /);
      assert.match(screen, /join enriched/);
      assert.match(screen, /sink results/);
      assert.match(screen, /DLQ {2}empty/);
      // deno-lint-ignore no-control-regex
      assert.match(await t.capture({ escapes: true }), /\x1b\[(3[0-7]|9[0-7]|38;)/, "colours");

      await t.sendKeys("2");
      await t.sendText(
        "SELECT key, json_extract(payload, '$.amount') AS amount FROM orders WHERE key = 'probe-1';",
      );
      await t.sendKeys("Enter");
      screen = await t.waitForText(/1 row · /);
      assert.match(screen, /probe-1 +4242/);

      await t.sendText("DELETE FROM s0.orders;");
      await t.sendKeys("Enter");
      screen = await t.waitForText(/error: /);
      assert.match(screen, /error: read-only console: DELETE from orders not allowed/);

      await t.sendText(RUNAWAY);
      await t.sendKeys("Enter");
      await t.waitForText(/running… \(Ctrl\+C cancels\)/);
      const before = loader.state.accepted; // the query is running from here on
      if (cols === 80) {
        await waitFor("ingest during the query", () => loader.state.accepted > before + 3);
        await t.sendKeys("C-c");
        await t.waitForText(/error: query cancelled/);
      } else {
        screen = await t.waitForText(/error: query stopped after 2 s \(time limit\)/);
      }
      assert.ok(
        loader.state.accepted > before,
        `ingest went on while the query ran (${loader.state.accepted - before} batches accepted)`,
      );
      assertFits(await t.capture(), cols, rows);

      await t.sendKeys("Escape"); // alone: Escape then a key in one chunk reads as Alt+key
      await t.waitForText(/\[ 1 Dashboard \]/);
      await t.sendKeys("4");
      await t.waitForText(/DLQ · empty/);
      screen = await t.waitForText(/ no entries/);
      assertFits(screen, cols, rows);

      await t.sendKeys("q");
      assert.equal(await t.waitForExit(), 0);
      assert.equal(t.alive(), false);
      assertCookedTty(await t.ttyAfterExit());
    } finally {
      await t.kill();
      await loader.stop();
      engine.child.kill("SIGTERM");
      await engine.exited;
    }
  });
}

Deno.test("litejoin tui honours NO_COLOR, follows a resize, reconnects by itself when the engine restarts, and says when there is no DLQ", async () => {
  const dir = await engineDir("dlq: { enabled: false }\n");
  let engine = await spawnEngine(dir);
  const t = await tui(`${dir}/data/litejoin.sock`, { cols: 80, rows: 24, env: { NO_COLOR: "1" } });
  try {
    await t.waitForText(/● connected/);
    await t.waitForRawMode();
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(await t.capture({ escapes: true }), /\x1b\[(3[0-7]|9[0-7]|38;)/);
    await t.resize(100, 30);
    assertFits(await t.waitForText(/WRITES\/S, LAST MINUTE {30,}/), 100, 30);
    engine.child.kill("SIGKILL");
    await engine.exited;
    await t.waitForText(/✕ engine down, retrying/);
    engine = await spawnEngine(dir);
    await t.waitForText(/● connected/);
    await t.waitForText(/customers +[\d,]+ /);
    await t.sendKeys("4");
    await t.waitForText(/DLQ not enabled/);
    await t.sendKeys("q");
    assert.equal(await t.waitForExit(), 0);
  } finally {
    await t.kill();
    engine.child.kill("SIGTERM");
    await engine.exited;
  }
});

Deno.test("litejoin tui replays and purges dead letters of the engine's DLQ, each only after y", async () => {
  const receiver = await startReceiver();
  receiver.respond = () => 400; // refused for good: each result goes dead at once
  const t0 = await startEngine(`engine: { data_dir: ./data, shard_count: 1 }
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
joins:
  - { name: copy, key: k, sql: "SELECT key AS k, json_extract(payload, '$.n') AS n FROM orders", sinks: [hook] }
sinks:
  - { name: hook, type: http, url: "${receiver.url}", retries: 0 }
`);
  const socket = t0.engine.config.engine.socket!;
  const dlq = await ControlClient.connect(socket);
  const t = await tui(socket, { cols: 80, rows: 24 });
  try {
    for (const [id, n] of [["o-1", 1], ["o-2", 2], ["o-3", 3]] as const) {
      assert.equal((await t0.post("/in", { id, n })).status, 202);
      await t0.engine.joiner.drain();
    }
    await waitFor(
      "three dead letters",
      async () => (await dlq.request<DlqSummary>("dlq.stats")).by_sink.hook?.dead === 3,
    );
    receiver.respond = () => 200; // the peer is fixed
    await t.waitForText(/● connected/);
    await t.waitForRawMode();
    await t.sendKeys("4");
    let screen = await t.waitForText(/> +\d+ hook +dead +1 +\d+s o-1/);
    assert.match(screen, /DLQ · 3 waiting · hook: 0 retrying, 3 dead, oldest \d+s ago/);
    await t.sendKeys("r");
    await t.waitForText(/Replay entry \d+ to sink hook\? \[y\/N\]/);
    await t.sendKeys("n");
    await t.waitForText(/cancelled/);
    assert.equal(receiver.batches.length, 0, "nothing sent without y");
    await t.sendKeys("r");
    await t.waitForText(/\[y\/N\]/);
    await t.sendKeys("y");
    await t.waitForText(/replayed 1: 1 delivered, 0 failed again/);
    assert.deepEqual(receiver.results().map((r) => r.key), ["o-1"]);
    screen = await t.waitForText(/DLQ · 2 waiting/);
    await t.sendKeys("X");
    await t.waitForText(/Purge every dead entry of sink hook\? It cannot be undone\. \[y\/N\]/);
    await t.sendKeys("y");
    await t.waitForText(/purged 2 entries/);
    const after = await dlq.request<DlqSummary>("dlq.stats");
    assert.deepEqual([after.by_sink.hook.dead, after.by_sink.hook.retrying], [0, 0]);
    assert.deepEqual(receiver.results().map((r) => r.key), ["o-1"], "a purge sends nothing");
    assertFits(await t.capture(), 80, 24);
    await t.sendKeys("q");
    assert.equal(await t.waitForExit(), 0);
  } finally {
    await t.kill();
    dlq.close();
    await t0.stop();
    await receiver.stop();
  }
});
