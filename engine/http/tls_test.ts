import assert from "node:assert/strict";
import { HttpServer } from "./server.ts";
import { readPair } from "./tls.ts";
import { createLogger } from "../log.ts";
import { httpsGet, issue, makeCa } from "../../tests/_tls.ts";
import { waitFor } from "../../tests/_helpers.ts";

/** Replaces `to` with a copy of `from` in one rename, as renewal tools do. */
async function replace(from: string, to: string) {
  await Deno.copyFile(from, `${to}.tmp`);
  await Deno.rename(`${to}.tmp`, to);
}

Deno.test("readPair names the file that is wrong: not PEM, or a key that is not the certificate's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-tls-" });
  try {
    const ca = await makeCa(dir);
    const a = await issue(dir, ca, "a");
    const b = await issue(dir, ca, "b");
    assert.match(
      (await readPair(a.cert, a.key)).summary,
      /CN=a, valid until .*sha256 [0-9a-f]{16}/,
    );
    await assert.rejects(
      readPair(a.cert, b.key),
      new RegExp(`${b.key} is not the key of ${a.cert}`),
    );
    await assert.rejects(readPair(a.key, a.key), /is not a PEM certificate/);
    await assert.rejects(readPair(a.cert, a.cert), /is not a PEM private key/);
    await assert.rejects(
      readPair(`${dir}/none.pem`, a.key),
      /cannot read http\.tls\.cert_file .*none\.pem: no such file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HTTPS listener takes a renewed pair on a file change and on SIGHUP; a bad pair keeps the old one, in one log line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-tls-" });
  const logs: string[] = [];
  const log = createLogger({ write: (line) => logs.push(line) });
  const one = await makeCa(dir, "one");
  const two = await makeCa(dir, "two");
  const a = await issue(dir, one, "a");
  const b = await issue(dir, two, "b");
  const c = await issue(dir, one, "c");
  const cert = `${dir}/live/cert.pem`;
  const key = `${dir}/live/key.pem`;
  await Deno.mkdir(`${dir}/live`);
  await replace(a.cert, cert);
  await replace(a.key, key);
  const servers: HttpServer[] = [];
  const start = async (watch: boolean) => {
    const http = new HttpServer(log, { tls: { certFile: cert, keyFile: key, watch } });
    http.route("GET", "/x", () => new Response("hello"), { access: "open" });
    servers.push(http);
    const { port } = await http.start({ hostname: "127.0.0.1", port: 0 });
    return `https://127.0.0.1:${port}/x`;
  };
  const trusted = async (url: string, ca: string) => "status" in await httpsGet(url, ca);
  try {
    const url = await start(true);
    assert.deepEqual(await httpsGet(url, one.pem), { status: 200, body: "hello" });
    const refused = await httpsGet(url, two.pem);
    assert.ok("error" in refused && /certificate/i.test(refused.error), JSON.stringify(refused));

    // A certificate without its key: refused, the old pair stays.
    await replace(b.cert, cert);
    await waitFor("the failed reload to be logged", () => logs.some((l) => l.includes("failed")));
    const failed = logs.filter((l) => l.includes("TLS reload"));
    assert.match(
      failed[0],
      /TLS reload \(file change\) failed, still serving the previous certificate: .*is not the key of/,
    );
    assert.ok(failed.every((l) => !l.trimEnd().includes("\n")), "one line each");
    assert.equal(await trusted(url, one.pem), true);

    // Its key arrives: the new pair is served to new connections.
    await replace(b.key, key);
    await waitFor("the renewed certificate", () => trusted(url, two.pem));
    assert.equal(await trusted(url, one.pem), false);
    assert.ok(logs.some((l) => /TLS certificate reloaded \(file change\): CN=b/.test(l)));

    // Without watching, SIGHUP reloads (the watched server above takes it too).
    const quiet = await start(false);
    assert.equal(await trusted(quiet, two.pem), true);
    await replace(c.cert, cert);
    await replace(c.key, key);
    Deno.kill(Deno.pid, "SIGHUP");
    await waitFor("SIGHUP to reload", () => trusted(quiet, one.pem));
    assert.ok(logs.some((l) => /TLS certificate reloaded \(SIGHUP\): CN=c/.test(l)));
  } finally {
    for (const http of servers) await http.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
