import assert from "node:assert/strict";
import { DlqStore } from "../engine/dlq/store.ts";
import type { Result } from "../engine/types.ts";
import { CLI, cli, type Receiver, startReceiver } from "./_helpers.ts";
import { spawnEngine } from "./_process.ts";

const result = (key: string): Result => ({
  name: "totals",
  key,
  row: { order_id: key, amount: 1 },
  timestamp: 1,
  _change: { op: "insert" },
});

const HOUR = 3_600_000;

/**
 * A config whose hook sink points at `receiver`, and a dlq.db holding: a and b retrying
 * (not due for an hour), c dead, d delivered, and an input rejected by kafka_in.
 */
async function prepare(receiver: Receiver): Promise<{ dir: string; config: string }> {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-dlq-cli-" });
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    `
http: { listen: "127.0.0.1:0" }
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
joins:
  - { name: totals, key: order_id, sql: "SELECT key AS order_id FROM orders", sinks: [hook] }
sinks:
  - { name: hook, type: http, url: "${receiver.url}", retries: 0 }
  - { name: db, type: sqlite, path: ./results.db }
dlq: { max_attempts: 5 }
`,
  );
  await Deno.mkdir(`${dir}/data`);
  const store = new DlqStore(`${dir}/data/dlq.db`);
  const now = Date.now();
  store.add(
    "hook",
    [result("a"), result("b")],
    "POST answered 503",
    now - 60_000,
    "retrying",
    now + HOUR,
  );
  store.add("hook", [result("c")], "POST answered 400: bad amount", now - 30_000, "dead", null);
  const [d] = store.add(
    "hook",
    [result("d")],
    "fetch failed",
    now - 20_000,
    "retrying",
    now + HOUR,
  );
  store.delivered("hook", store.claimIds([d], now, "setup", 1000), now - 10_000, "setup");
  store.reject({
    source: "kafka_in",
    reason: "not JSON: Unexpected token o",
    raw: "oops",
    detail: { topic: "orders", partition: 0, offset: 7 },
  }, now - 5_000);
  store.close();
  return { dir, config: `${dir}/litejoin.yaml` };
}

const json = (text: string) => JSON.parse(text);

/** Runs `litejoin` in a pseudo-terminal (util-linux `script`), feeding `input` to it. */
async function inTerminal(args: string[], input: string, cwd: string) {
  const command = [Deno.execPath(), "run", "-A", CLI, ...args]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  return { code: out.code, output: new TextDecoder().decode(out.stdout) };
}

Deno.test("litejoin dlq stats, list and show read dlq.db directly when no engine runs", async () => {
  const receiver = await startReceiver();
  const { dir, config } = await prepare(receiver);
  try {
    const stats = await cli(["dlq", "stats", "-c", config]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal(stats.stderr.trim(), `litejoin: using ${dir}/data/dlq.db (no engine running)`);
    const lines = stats.stdout.trim().split("\n");
    assert.match(lines[0], /^SINK\s+RETRYING\s+DEAD\s+DELIVERED\s+OLDEST UNDELIVERED$/);
    assert.match(lines[1], /^hook\s+2\s+1\s+1\s+1m ago$/);
    assert.match(lines[2], /^db\s+0\s+0\s+0\s+-$/);
    assert.match(stats.stdout, /^kafka_in\s+1$/m);
    assert.match(stats.stdout, /^4 entries need attention$/m);

    const statsJson = json((await cli(["dlq", "stats", "--json", "-c", config])).stdout);
    assert.deepEqual(statsJson.by_sink.db, {
      retrying: 0,
      dead: 0,
      delivered: 0,
      oldest_failed_at: null,
    });
    assert.deepEqual(
      {
        ...statsJson.by_sink.hook,
        oldest_failed_at: typeof statsJson.by_sink.hook.oldest_failed_at,
      },
      { retrying: 2, dead: 1, delivered: 1, oldest_failed_at: "number" },
    );
    assert.deepEqual([statsJson.total, statsJson.rejected], [4, { kafka_in: 1 }]);

    const list = await cli(["dlq", "list", "-c", config]);
    assert.equal(list.code, 0);
    const rows = list.stdout.trim().split("\n");
    assert.match(
      rows[0],
      /^ID\s+STATUS\s+SINK\s+SOURCE\s+KEY\s+ATTEMPTS\s+LAST FAILED\s+NEXT\s+ERROR$/,
    );
    assert.match(
      rows[1],
      /^1\s+retrying\s+hook\s+totals\s+a\s+1\s+1m ago\s+in 1h\s+POST answered 503$/,
    );
    assert.match(
      rows[3],
      /^3\s+dead\s+hook\s+totals\s+c\s+1\s+\d+s ago\s+-\s+POST answered 400: bad amount$/,
    );
    assert.match(
      rows[5],
      /^5\s+rejected\s+-\s+kafka_in\s+-\s+0\s+\d+s ago\s+-\s+not JSON: Unexpected token o$/,
    );
    assert.equal(rows.length, 6);

    const { entries } = json((await cli(["dlq", "list", "--json", "-c", config])).stdout);
    assert.deepEqual(entries.map((e: { key: string }) => e.key), ["a", "b", "c", "d", null]);
    assert.deepEqual(Object.keys(entries[0]), [
      "id",
      "sink",
      "source",
      "key",
      "payload",
      "error",
      "attempts",
      "first_failed_at",
      "last_failed_at",
      "next_attempt_at",
      "status",
      "delivered_at",
      "superseded",
    ]);
    assert.deepEqual(entries[0].payload, result("a"));
    const dead = json(
      (await cli(["dlq", "list", "--json", "--sink", "hook", "--status", "dead", "-c", config]))
        .stdout,
    );
    assert.deepEqual(dead.entries.map((e: { id: number }) => e.id), [3]);
    const page = json(
      (await cli(["dlq", "list", "--json", "--limit", "2", "--offset", "1", "-c", config])).stdout,
    );
    assert.deepEqual(page.entries.map((e: { id: number }) => e.id), [2, 3]);
    const rejected = json(
      (await cli(["dlq", "list", "--json", "--status", "rejected", "-c", config])).stdout,
    );
    assert.deepEqual(rejected.entries[0].payload, {
      topic: "orders",
      partition: 0,
      offset: 7,
      raw: "oops",
    });

    const show = await cli(["dlq", "show", "3", "-c", config]);
    assert.equal(show.code, 0);
    assert.match(show.stdout, /^id:\s+3$/m);
    assert.match(show.stdout, /^status:\s+dead$/m);
    assert.match(show.stdout, /^error:\s+POST answered 400: bad amount$/m);
    assert.match(show.stdout, /^payload:\n\{\n {2}"name": "totals",\n {2}"key": "c",/m);
    assert.deepEqual(
      json((await cli(["dlq", "show", "3", "--json", "-c", config])).stdout),
      entries[2],
    );

    const missing = await cli(["dlq", "show", "99", "-c", config]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split("\n").at(-1), "litejoin: no entry 99");
    const badStatus = await cli(["dlq", "list", "--status", "lost", "-c", config]);
    assert.equal(badStatus.code, 2);
    assert.match(
      badStatus.stderr,
      /argument 'lost' is invalid\. must be one of retrying, dead, delivered, rejected/,
    );
  } finally {
    await receiver.stop();
  }
});

Deno.test("litejoin dlq replay with no engine delivers through the sink built from the config", async () => {
  const receiver = await startReceiver();
  const { config, dir } = await prepare(receiver);
  try {
    const one = await cli(["dlq", "replay", "3", "-c", config]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout.trim(), "replayed 1 entry: 1 delivered, 0 failed");
    assert.deepEqual(receiver.results().map((r) => r.key), ["c"]);

    receiver.respond = () => 503;
    const failing = await cli(["dlq", "replay", "--sink", "hook", "--json", "-c", config]);
    assert.equal(failing.code, 1, "some entries failed");
    assert.deepEqual(json(failing.stdout), { replayed: 2, delivered: 0, failed: 2, skipped: 0 });
    const { entries } = json(
      (await cli(["dlq", "list", "--json", "--status", "retrying", "-c", config])).stdout,
    );
    assert.deepEqual(entries.map((e: { attempts: number }) => e.attempts), [2, 2]);

    receiver.respond = () => 200;
    const all = await cli(["dlq", "replay", "--all", "-c", config]);
    assert.equal(all.code, 0);
    assert.equal(all.stdout.trim(), "replayed 2 entries: 2 delivered, 0 failed");
    assert.deepEqual(receiver.results().map((r) => r.key), ["c", "a", "b"]);
    assert.equal(
      await Deno.stat(`${dir}/results.db`).catch(() => null),
      null,
      "sinks without entries to replay are not even opened",
    );

    const rejected = await cli(["dlq", "replay", "5", "-c", config]);
    assert.equal(rejected.code, 2);
    assert.match(
      rejected.stderr,
      /^litejoin: entry 5 is an input rejected by source kafka_in; it cannot be replayed/m,
    );
    const nothing = await cli(["dlq", "replay", "-c", config]);
    assert.equal(nothing.code, 2);
    assert.equal(
      nothing.stderr.trim(),
      "litejoin: say what to replay: an entry ID, --sink NAME or --all",
    );
  } finally {
    await receiver.stop();
  }
});

Deno.test("litejoin dlq replay shows a progress bar on a terminal", async () => {
  const receiver = await startReceiver();
  const { dir, config } = await prepare(receiver);
  try {
    const { code, output } = await inTerminal(["dlq", "replay", "--all", "-c", config], "", dir);
    assert.equal(code, 0, output);
    assert.match(output, /replaying \[#+\] 100% {2}3\/3 entries {2}\d+s {2}3 delivered, 0 failed/);
    assert.match(output, /replayed 3 entries: 3 delivered, 0 failed/);
  } finally {
    await receiver.stop();
  }
});

Deno.test("litejoin dlq purge asks first, refuses without a terminal, and takes --yes", async () => {
  const receiver = await startReceiver();
  const { dir, config } = await prepare(receiver);
  try {
    const refused = await cli(["dlq", "purge", "--status", "delivered", "-c", config]);
    assert.equal(refused.code, 2);
    assert.equal(
      refused.stderr.trim(),
      "litejoin: purge asks for confirmation: run it in a terminal, or pass --yes",
    );
    const vague = await cli(["dlq", "purge", "--yes", "-c", config]);
    assert.equal(vague.code, 2);
    assert.match(
      vague.stderr,
      /say what to purge: an entry ID, --sink NAME, --status STATUS, or --all/,
    );

    const no = await inTerminal(
      ["dlq", "purge", "--sink", "hook", "--status", "dead", "-c", config],
      "n\n",
      dir,
    );
    assert.match(
      no.output,
      /Delete 1 entry \(sink hook, status dead\) from .*dlq\.db \(no engine running\)\? \[y\/N\]/,
    );
    assert.match(no.output, /purge cancelled; nothing was deleted/);
    assert.equal(no.code, 1);
    const yes = await inTerminal(
      ["dlq", "purge", "--sink", "hook", "--status", "dead", "-c", config],
      "y\n",
      dir,
    );
    assert.equal(yes.code, 0, yes.output);
    assert.match(yes.output, /purged 1 entry/);

    const scripted = await cli([
      "dlq",
      "purge",
      "--status",
      "delivered",
      "--yes",
      "--json",
      "-c",
      config,
    ]);
    assert.equal(scripted.code, 0);
    assert.deepEqual(json(scripted.stdout), { purged: 1 });
    const one = await cli(["dlq", "purge", "5", "--yes", "-c", config]);
    assert.equal(one.stdout.trim(), "purged 1 entry");
    const { entries } = json((await cli(["dlq", "list", "--json", "-c", config])).stdout);
    assert.deepEqual(entries.map((e: { key: string }) => e.key), ["a", "b"]);
    const everything = await cli(["dlq", "purge", "--all", "--yes", "-c", config]);
    assert.equal(everything.stdout.trim(), "purged 2 entries");
  } finally {
    await receiver.stop();
  }
});

Deno.test("litejoin dlq works through a running engine's socket, found from -c or --socket", async () => {
  const receiver = await startReceiver();
  receiver.respond = () => 503;
  const { dir, config } = await prepare(receiver);
  const offlineStats = json((await cli(["dlq", "stats", "--json", "-c", config])).stdout);
  const offlineList = json((await cli(["dlq", "list", "--json", "-c", config])).stdout);
  const engine = await spawnEngine(dir);
  const socket = `${dir}/data/litejoin.sock`;
  try {
    const stats = await cli(["dlq", "stats", "--json", "-c", config]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.equal(stats.stderr.trim(), `litejoin: using the engine at ${socket}`);
    assert.deepEqual(json(stats.stdout), offlineStats, "the same answer either way");
    const list = await cli(["dlq", "list", "--json", "--socket", socket]);
    assert.deepEqual(json(list.stdout), offlineList);
    const show = await cli(["dlq", "show", "1", "--json", "--socket", socket]);
    assert.deepEqual(json(show.stdout), offlineList.entries[0]);
    const text = await cli(["dlq", "list", "--status", "dead", "-c", config]);
    assert.match(text.stdout, /^3\s+dead\s+hook\s+totals\s+c\s/m);

    // The engine sends the replay through its own sink.
    const failing = await cli(["dlq", "replay", "3", "-c", config]);
    assert.equal(failing.code, 1);
    assert.equal(failing.stdout.trim(), "replayed 1 entry: 0 delivered, 1 failed");
    receiver.respond = () => 200;
    const replay = await cli(["dlq", "replay", "3", "--json", "-c", config]);
    assert.deepEqual(json(replay.stdout), { replayed: 1, delivered: 1, failed: 0, skipped: 0 });
    assert.deepEqual(receiver.results().map((r) => r.key), ["c"]);
    const terminal = await inTerminal(["dlq", "replay", "--sink", "hook", "-c", config], "", dir);
    assert.match(
      terminal.output,
      /replaying \[#+\] 100% {2}2\/2 entries {2}\d+s {2}2 delivered, 0 failed/,
    );
    assert.deepEqual(receiver.results().map((r) => r.key), ["c", "a", "b"]);

    const purge = await cli([
      "dlq",
      "purge",
      "--status",
      "delivered",
      "--yes",
      "--json",
      "-c",
      config,
    ]);
    assert.deepEqual(json(purge.stdout), { purged: 4 });
    const after = json((await cli(["dlq", "stats", "--json", "-c", config])).stdout);
    assert.deepEqual([after.total, after.by_sink.hook.delivered], [1, 0]);
    const unknown = await cli(["dlq", "replay", "--sink", "hok", "-c", config]);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /litejoin: no sink named hok is configured \(did you mean hook\?\)/,
    );
  } finally {
    engine.child.kill("SIGTERM");
    assert.equal((await engine.exited).code, 0);
    await receiver.stop();
  }
});

Deno.test("litejoin dlq --socket exits 4 when no engine answers there; a missing config exits 2", async () => {
  const dir = await Deno.makeTempDir();
  const none = await cli(["dlq", "stats", "--socket", `${dir}/litejoin.sock`]);
  assert.equal(none.code, 4);
  assert.equal(
    none.stderr.trim(),
    `litejoin: no engine is listening at ${dir}/litejoin.sock (start one with litejoin run -c FILE, or point at it with --socket PATH)`,
  );
  const noConfig = await cli(["dlq", "list"], { cwd: dir });
  assert.equal(noConfig.code, 2);
  assert.equal(
    noConfig.stderr.trim(),
    "litejoin.yaml: cannot read the config: no such file (pass another with -c FILE; litejoin init writes a starter one)",
  );
});

Deno.test("litejoin dlq list on a data directory without dlq.db is empty and creates nothing", async () => {
  const receiver = await startReceiver();
  const { dir, config } = await prepare(receiver);
  await Deno.remove(`${dir}/data`, { recursive: true });
  try {
    const list = await cli(["dlq", "list", "-c", config]);
    assert.equal(list.code, 0);
    assert.equal(list.stdout.trim(), "no entries");
    assert.equal(await Deno.stat(`${dir}/data`).catch(() => null), null);
  } finally {
    await receiver.stop();
  }
});

Deno.test("Ctrl-C during an offline replay gives up its claims at once, exit 130", async () => {
  const arrived = Promise.withResolvers<void>();
  const hang = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    arrived.resolve();
    await hang.promise;
    return new Response("late");
  });
  const receiver = { url: `http://127.0.0.1:${server.addr.port}/hook` } as Receiver;
  const { config, dir } = await prepare(receiver);
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "dlq", "replay", "--all", "-c", config],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await arrived.promise;
    const db = () => new DlqStore(`${dir}/data/dlq.db`);
    const held = db();
    assert.equal(held.count({}), 5);
    const leased =
      held.db.prepare("SELECT count(*) AS n FROM entries WHERE lease_owner LIKE 'cli:%'")
        .get()!.n;
    assert.equal(leased, 3, "the replay holds a, b and c while it sends");
    child.kill("SIGINT");
    const out = await child.output();
    assert.equal(out.code, 130);
    assert.match(new TextDecoder().decode(out.stderr), /litejoin: interrupted/);
    const after = held.db.prepare("SELECT count(*) AS n FROM entries WHERE lease_owner IS NOT NULL")
      .get()!.n;
    held.close();
    assert.equal(after, 0);
  } finally {
    hang.resolve();
    await server.shutdown();
  }
});
