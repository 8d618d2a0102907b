/**
 * HTTPS end to end, with a CA and certificates made by openssl for this run: curl
 * trusting the test CA reads an authenticated snapshot, and the engine's own HTTP sink
 * delivers to an HTTPS receiver whose CA it trusts through `ca_file`.
 */
import assert from "node:assert/strict";
import { type Ca, httpsGet, issue, makeCa } from "./_tls.ts";
import { cli, startEngine, waitFor } from "./_helpers.ts";
import { HttpSink } from "../engine/sinks/http.ts";
import { DeliveryError } from "../engine/sinks/sink.ts";
import type { Result } from "../engine/types.ts";
import { StartupListener } from "../engine/startup.ts";

const INGEST = "ingest-0123456789abcdef";
const READ = "read-0123456789abcdef01";

/** A webhook receiver over HTTPS with a certificate from `ca`. */
async function httpsReceiver(dir: string, ca: Ca) {
  const pair = await issue(dir, ca, "receiver");
  const batches: Result[][] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: await Deno.readTextFile(pair.cert),
    key: await Deno.readTextFile(pair.key),
    onListen: () => {},
  }, async (request) => {
    batches.push(await request.json());
    return new Response("ok");
  });
  return {
    url: `https://127.0.0.1:${server.addr.port}/hook`,
    batches,
    stop: () => server.shutdown(),
  };
}

async function curl(args: string[]) {
  const out = await new Deno.Command("curl", {
    args: ["-sS", ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("HTTPS end to end: curl with the test CA reads an authenticated snapshot; the HTTP sink delivers to an HTTPS receiver through ca_file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-https-" });
  await Deno.mkdir(`${dir}/tls`);
  const ca = await makeCa(`${dir}/tls`, "ca");
  await issue(`${dir}/tls`, ca, "server");
  const receiver = await httpsReceiver(`${dir}/tls`, ca);
  const t = await startEngine(
    `
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - { name: copy, key: id, sql: "SELECT key AS id, json_extract(payload, '$.n') AS n FROM events", sinks: [hook, live] }
sinks:
  - { name: hook, type: http, url: "${receiver.url}", ca_file: ./tls/ca.pem }
  - { name: live, type: sse, path: /live }
`,
    {
      dir,
      http: `tls: { cert_file: ./tls/server.pem, key_file: ./tls/server.key },
  auth: { tokens: [
    { name: ingester, token: ${INGEST}, scopes: [ingest] },
    { name: reader, token: ${READ}, scopes: [read] } ] }`,
    },
  );
  const base = `https://127.0.0.1:${t.engine.address.port}`;
  const client = Deno.createHttpClient({ caCerts: [ca.pem] });
  try {
    assert.equal(t.engine.http.scheme, "https");
    for (let i = 0; i < 3; i++) {
      const response = await fetch(`${base}/in`, {
        method: "POST",
        client,
        headers: { "content-type": "application/json", authorization: `Bearer ${INGEST}` },
        body: JSON.stringify({ id: `e${i}`, n: i }),
      });
      assert.equal(response.status, 202, await response.text());
    }
    await waitFor("the receiver to get 3 results", () => receiver.batches.flat().length === 3);
    assert.deepEqual(
      receiver.batches.flat().map((r) => r.row).sort((a, b) =>
        String(a.id).localeCompare(String(b.id))
      ),
      [{ id: "e0", n: 0 }, { id: "e1", n: 1 }, { id: "e2", n: 2 }],
    );

    const snapshot = await curl([
      "--cacert",
      ca.cert,
      "-H",
      `Authorization: Bearer ${READ}`,
      `${base}/live/snapshot`,
    ]);
    assert.equal(snapshot.code, 0, snapshot.stderr);
    assert.deepEqual(Object.keys(JSON.parse(snapshot.stdout).results.copy).sort(), [
      "e0",
      "e1",
      "e2",
    ]);
    const login = await fetch(`${base}/auth/login`, {
      method: "POST",
      client,
      headers: { authorization: `Bearer ${READ}` },
    });
    await login.body?.cancel();
    assert.match(login.headers.get("set-cookie")!, /; HttpOnly; SameSite=Strict; Secure$/);
    const anonymous = await curl([
      "--cacert",
      ca.cert,
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `${base}/live/snapshot`,
    ]);
    assert.equal(anonymous.stdout, "401");
    const health = await curl(["--cacert", ca.cert, `${base}/healthz`]);
    assert.match(health.stdout, /"status":"ok"/);
    const untrusted = await curl(["-o", "/dev/null", `${base}/healthz`]);
    assert.equal(untrusted.code, 60, "curl refuses a certificate from an unknown CA");
    const plain = await curl([
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      `http://127.0.0.1:${t.engine.address.port}/healthz`,
    ]);
    assert.notEqual(plain.stdout, "200", "plain HTTP is not served on the TLS port");
    assert.equal(
      await httpsGet(`${base}/healthz`, ca.pem).then((r) => "status" in r && r.status),
      200,
    );

    // litejoin healthcheck reads the config: https, trusting the configured certificate
    // (enough for a self-signed one; here the CA stands in for it).
    const config = (await Deno.readTextFile(`${dir}/litejoin.yaml`))
      .replace('"127.0.0.1:0"', `"127.0.0.1:${t.engine.address.port}"`);
    await Deno.writeTextFile(`${dir}/check.yaml`, config);
    const check = await cli(["healthcheck", "-c", `${dir}/check.yaml`]);
    assert.equal(check.code, 1, "the server certificate is not a CA: not trusted by itself");
    await Deno.writeTextFile(
      `${dir}/check.yaml`,
      config.replace("cert_file: ./tls/server.pem", "cert_file: ./tls/ca.pem"),
    );
    const healthy = await cli(["healthcheck", "-c", `${dir}/check.yaml`]);
    assert.equal(healthy.code, 0, healthy.stderr);
    assert.match(healthy.stdout, /^https:\/\/127\.0\.0\.1:\d+\/healthz: \{"status":"ok"/);
  } finally {
    client.close();
    await t.stop();
    await receiver.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the HTTP sink refuses a receiver whose CA it does not trust, saying so; ca_file fixes it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-https-sink-" });
  const ca = await makeCa(dir);
  const receiver = await httpsReceiver(dir, ca);
  const result: Result = {
    name: "j",
    key: "k",
    row: { id: "k" },
    timestamp: 0,
    _change: { op: "insert" },
  };
  const config = {
    url: receiver.url,
    headers: {},
    timeout: 5000,
    retries: 0,
    backoff: { initial: 10, max: 10, multiplier: 1, jitter: 0 },
    max_batch: 10,
  };
  const untrusting = new HttpSink("hook", config);
  const trusting = new HttpSink("hook", { ...config, ca_file: ca.cert });
  try {
    await assert.rejects(
      untrusting.send([result]),
      (e: Error) => e instanceof DeliveryError && /certificate/i.test(e.message),
    );
    await trusting.send([result]);
    assert.equal(receiver.batches.length, 1);
    assert.throws(
      () => new HttpSink("hook", { ...config, ca_file: `${dir}/none.pem` }),
      /sink hook: cannot read ca_file .*none\.pem/,
    );
  } finally {
    await untrusting.close();
    await trusting.close();
    await receiver.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("while the engine starts, its address already answers over HTTPS with the same certificate", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-https-start-" });
  try {
    const ca = await makeCa(dir);
    const pair = await issue(dir, ca, "engine");
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (taken.addr as Deno.NetAddr).port;
    taken.close();
    const startup = StartupListener.start({ hostname: "127.0.0.1", port }, { now: () => 0 }, {
      cert: await Deno.readTextFile(pair.cert),
      key: await Deno.readTextFile(pair.key),
    });
    try {
      const health = await httpsGet(`https://127.0.0.1:${port}/healthz`, ca.pem);
      assert.ok("status" in health, JSON.stringify(health));
      assert.equal(health.status, 200);
      assert.equal(JSON.parse(health.body).status, "starting");
      const ready = await httpsGet(`https://127.0.0.1:${port}/readyz`, ca.pem);
      assert.ok("status" in ready && ready.status === 503, JSON.stringify(ready));
    } finally {
      await startup.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
