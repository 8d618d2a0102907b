/**
 * Ctrl-C on `deno task litejoin run` in a real terminal (tmux), alone and under a
 * launcher that forwards signals (as npx and tini do). The terminal signals the whole
 * foreground process group, and the launcher forwards its own copy: one keypress must
 * still give the orderly stop (batches committed, deliveries finished, exit 0), and
 * only a second Ctrl-C, over a second later, exits at once (130). The same for SIGTERM
 * sent to the process group.
 */
import assert from "node:assert/strict";
import { startReceiver, waitFor } from "./_helpers.ts";
import { Tmux } from "./_tmux.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const FORWARD = new URL("./_forward.ts", import.meta.url).pathname;
const deno = Deno.execPath();

/** `deno task litejoin run -c <config>`, alone or under a launcher that forwards signals. */
function command(config: string, forwarded: boolean): string[] {
  const task = [deno, "task", "litejoin", "run", "-c", config];
  return forwarded ? [deno, "run", "-A", FORWARD, ...task] : task;
}

async function configDir(sinkUrl: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-signals-" });
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    `engine: { data_dir: ./data, shard_count: 2 }
http: { listen: "127.0.0.1:0" }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - { name: copy, key: id, sql: "SELECT key AS id, json_extract(payload, '$.n') AS n FROM events", sinks: [hook] }
sinks:
  - { name: hook, type: http, url: "${sinkUrl}", timeout: 60s }
`,
  );
  return dir;
}

/** `deno task litejoin run -c <dir>/litejoin.yaml` in a terminal, once it listens. */
async function runInTerminal(
  dir: string,
  forwarded: boolean,
): Promise<{ term: Tmux; url: string }> {
  const term = await Tmux.start(command(`${dir}/litejoin.yaml`, forwarded), {
    cols: 240,
    rows: 60,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  });
  const screen = await term.waitForText(/listening on http:\/\/[\d.]+:\d+/, 60_000);
  const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(screen)![1];
  return { term, url };
}

async function post(url: string, items: unknown[]): Promise<void> {
  const response = await fetch(`${url}/in`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(items),
  });
  assert.equal(response.status, 202);
  await response.body?.cancel();
}

for (const forwarded of [false, true]) {
  const under = forwarded ? "under a launcher that forwards it too" : "under deno task";
  Deno.test(`one Ctrl-C ${under} stops gracefully: everything accepted is delivered, exit 0`, async () => {
    const receiver = await startReceiver();
    const dir = await configDir(receiver.url);
    const { term, url } = await runInTerminal(dir, forwarded);
    try {
      const items = Array.from({ length: 500 }, (_, n) => ({ id: `k${n}`, n }));
      await post(url, items);
      await term.sendKeys("C-c");
      assert.equal(await term.waitForExit(30_000), 0);
      const screen = await term.capture();
      assert.match(
        screen,
        /SIGINT: shutting down gracefully .* Ctrl-C again after 1 s exits at once/,
      );
      assert.match(screen, /stopping: no new input; flushing batches and deliveries[\s\S]*stopped/);
      assert.doesNotMatch(screen, /exiting now/);
      const delivered = new Set(receiver.results().map((r) => r.key));
      assert.equal(delivered.size, 500, "every accepted message reached the sink before the exit");
    } finally {
      await term.kill();
      await receiver.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("SIGTERM to the whole process group stops gracefully, exit 0", async () => {
  const receiver = await startReceiver();
  const dir = await configDir(receiver.url);
  // setsid: the launcher leads a process group of its own, as in a container or a unit.
  const child = new Deno.Command("setsid", {
    args: command(`${dir}/litejoin.yaml`, true),
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let log = "";
  const read = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) log += decoder.decode(chunk, { stream: true });
  })();
  try {
    await waitFor(
      "the engine to listen",
      () => /listening on (http:\/\/[\d.]+:\d+)/.test(log),
      60_000,
    );
    const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(log)![1];
    await post(url, Array.from({ length: 200 }, (_, n) => ({ id: `k${n}`, n })));
    Deno.kill(-child.pid, "SIGTERM");
    const status = await child.status;
    await read;
    assert.equal(status.code, 0, log);
    assert.match(log, /SIGTERM: shutting down gracefully[\s\S]*stopped/);
    assert.doesNotMatch(log, /exiting now/);
    assert.equal(new Set(receiver.results().map((r) => r.key)).size, 200);
  } finally {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch { /* ended */ }
    await receiver.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a second Ctrl-C after the first second exits at once with 130", async () => {
  // A sink that never answers holds the orderly stop up (its timeout is a minute).
  const held = Promise.withResolvers<void>();
  let requests = 0;
  const hanging = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    requests++;
    await held.promise;
    return new Response("late", { status: 503 });
  });
  const dir = await configDir(`http://127.0.0.1:${hanging.addr.port}/hook`);
  const { term, url } = await runInTerminal(dir, true);
  try {
    await post(url, [{ id: "a", n: 1 }]);
    await waitFor("the sink to be sent the result", () => requests > 0);
    await term.sendKeys("C-c");
    await term.waitForText(/SIGINT: shutting down gracefully/);
    // Past the window in which copies of one Ctrl-C are ignored.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.ok(term.alive(), "still stopping: the sink has not answered");
    await term.sendKeys("C-c");
    assert.equal(await term.waitForExit(10_000), 130);
    assert.match(
      await term.capture(),
      /SIGINT again: exiting now; uncommitted input is not acknowledged/,
    );
  } finally {
    await term.kill();
    held.resolve();
    await hanging.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
