import assert from "node:assert/strict";
import { silentLogger } from "../log.ts";
import { ControlError, ControlServer } from "./server.ts";
import { ControlClient, NoEngineError, RemoteError } from "./client.ts";
import { startEngine } from "../../tests/_helpers.ts";

async function withServer(fn: (server: ControlServer, path: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/c.sock`;
  const server = new ControlServer(path, silentLogger);
  server.handle("echo", (params) => params);
  server.handle("fail", () => {
    throw new ControlError("that will not do", "nope");
  });
  server.handle("slow", async () => {
    await new Promise((r) => setTimeout(r, 50));
    return "slow";
  });
  await server.start();
  try {
    await fn(server, path);
  } finally {
    await server.stop();
  }
}

Deno.test("control socket is private to its owner (mode 0600)", () =>
  withServer((_, path) => {
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    return Promise.resolve();
  }));

Deno.test("control socket answers requests by id, in any order", () =>
  withServer(async (_, path) => {
    const client = await ControlClient.connect(path);
    const [slow, fast] = await Promise.all([
      client.request("slow"),
      client.request("echo", { a: 1 }),
    ]);
    assert.equal(slow, "slow");
    assert.deepEqual(fast, { a: 1 });
    await assert.rejects(
      client.request("fail"),
      (e) => e instanceof RemoteError && e.code === "nope" && e.message === "that will not do",
    );
    await assert.rejects(
      client.request("nosuch"),
      (e) => e instanceof RemoteError && e.code === "unknown_method",
    );
    client.close();
  }));

Deno.test("control socket pushes events only to subscribed clients", () =>
  withServer(async (server, path) => {
    const a = await ControlClient.connect(path);
    const b = await ControlClient.connect(path);
    const got: unknown[] = [];
    const missed: unknown[] = [];
    await a.subscribe("stats", (d) => got.push(d));
    b.on("stats", (d) => missed.push(d));
    assert.equal(server.subscribed("stats"), true);
    server.publish("stats", { n: 1 });
    server.publish("other", { n: 2 });
    await a.request("echo");
    await b.request("echo");
    assert.deepEqual(got, [{ n: 1 }]);
    assert.deepEqual(missed, []);
    a.close();
    b.close();
  }));

Deno.test("control socket left by a dead engine is replaced; a live one is refused", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/c.sock`;
  // A process that listens and is SIGKILLed leaves its socket file behind.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `Deno.listen({ transport: "unix", path: ${
        JSON.stringify(path)
      } }); console.log("up"); setTimeout(() => {}, 60000);`,
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  reader.releaseLock();
  child.kill("SIGKILL");
  await child.status;
  await child.stdout.cancel();
  assert.ok(Deno.statSync(path).isSocket, "the killed process left its socket file");
  const server = new ControlServer(path, silentLogger);
  await server.start();
  const second = new ControlServer(path, silentLogger);
  await assert.rejects(second.start(), /an engine already answers/);
  await server.stop();
});

Deno.test("control client says plainly when no engine listens", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    ControlClient.connect(`${dir}/none.sock`),
    (e) => e instanceof NoEngineError && /no engine is listening at .*none\.sock/.test(e.message),
  );
});

Deno.test("engine serves info and redacted config on its control socket", async () => {
  const t = await startEngine(`
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id, auth_token: hunter2 }
`);
  try {
    const client = await ControlClient.connect(`${t.dir}/data/litejoin.sock`);
    const info = await client.request<{ topics: string[]; shard_count: number; http: string }>(
      "info",
    );
    assert.deepEqual(info.topics, ["events"]);
    assert.equal(info.shard_count, 2);
    assert.equal(info.http, `127.0.0.1:${t.engine.address.port}`);
    const config = await client.request<{ sources: { auth_token: string }[] }>("config");
    assert.equal(config.sources[0].auth_token, "<redacted>");
    const closed = new Promise<void>((resolve) => client.onClose(resolve));
    await t.stop();
    await closed;
    assert.equal(client.closed, true);
  } finally {
    await t.stop();
  }
});

Deno.test("config redaction hides tokens, passwords and everything in TLS blocks, and keeps the rest", async () => {
  const { redact } = await import("./methods.ts");
  assert.deepEqual(
    redact({
      sources: [{
        key: "id",
        auth_token: "t",
        sasl: { mechanism: "plain", username: "u", password: "p" },
      }],
      ssl: { ca: "-----BEGIN", key: "-----BEGIN", passphrase: "x", rejectUnauthorized: true },
      headers: { Authorization: "Bearer x", "X-Trace": "on" },
    }),
    {
      sources: [{
        key: "id",
        auth_token: "<redacted>",
        sasl: { mechanism: "plain", username: "u", password: "<redacted>" },
      }],
      ssl: {
        ca: "<redacted>",
        key: "<redacted>",
        passphrase: "<redacted>",
        rejectUnauthorized: true,
      },
      headers: { Authorization: "<redacted>", "X-Trace": "on" },
    },
  );
});
