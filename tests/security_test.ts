/**
 * `http.auth` on a running engine: every route but the health check refuses a request
 * without a token (401), with an unknown one (401 invalid_token) and with one lacking
 * the route's scope (403), and serves the right one; browsers log in for a cookie.
 */
import assert from "node:assert/strict";
import { startEngine, type TestEngine, waitFor } from "./_helpers.ts";

const INGEST = "ingest-0123456789abcdef";
const READ = "read-0123456789abcdef01";
const METRICS = "metrics-0123456789abcdef";
const OWN = "own-source-token";

const PIPELINE = `
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
  - { name: secured, type: http, path: /secure, topic: orders, key: id, auth_token: ${OWN} }
joins:
  - { name: copy, key: id, sql: "SELECT key AS id FROM orders", sinks: [live] }
sinks:
  - { name: live, type: sse, path: /live }
`;

const AUTH = `static: [{ path: /, dir: ./www }],
  auth: { tokens: [
    { name: ingester, token: ${INGEST}, scopes: [ingest] },
    { name: reader, token: ${READ}, scopes: [read] },
    { name: scraper, token: ${METRICS}, scopes: [metrics] } ] }`;

async function withSecured(fn: (t: TestEngine) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-security-" });
  await Deno.mkdir(`${dir}/www`);
  await Deno.writeTextFile(`${dir}/www/index.html`, "<h1>board</h1>");
  const t = await startEngine(PIPELINE, { dir, http: AUTH });
  try {
    await fn(t);
  } finally {
    await t.stop();
  }
}

/** Status and WWW-Authenticate of a request, its body dropped (streams included). */
async function ask(
  t: TestEngine,
  method: string,
  path: string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(t.url + path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: method === "POST" ? JSON.stringify({ id: "o-1" }) : undefined,
  });
  await response.body?.cancel();
  return { status: response.status, challenge: response.headers.get("www-authenticate") };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

Deno.test("every route refuses without a token (401), with an unknown one (401 invalid_token) and without its scope (403), and serves the right scope", () =>
  withSecured(async (t) => {
    const routes: [string, string, string, string][] = [
      // method, path, the token with the scope, a token without it
      ["POST", "/orders", INGEST, READ],
      ["POST", "/secure", INGEST, METRICS],
      ["GET", "/live", READ, INGEST],
      ["GET", "/live/snapshot", READ, METRICS],
      ["HEAD", "/live/snapshot", READ, METRICS],
      ["GET", "/metrics", METRICS, READ],
      ["GET", "/", READ, INGEST],
      ["GET", "/index.html", READ, METRICS],
    ];
    for (const [method, path, right, wrong] of routes) {
      const what = `${method} ${path}`;
      assert.deepEqual(await ask(t, method, path), {
        status: 401,
        challenge: 'Bearer realm="litejoin"',
      }, what);
      assert.deepEqual(await ask(t, method, path, bearer("not-a-token-of-ours")), {
        status: 401,
        challenge: 'Bearer realm="litejoin", error="invalid_token"',
      }, what);
      const refused = await ask(t, method, path, bearer(wrong));
      assert.equal(refused.status, 403, what);
      assert.match(
        refused.challenge!,
        /^Bearer realm="litejoin", error="insufficient_scope", scope="\w+"$/,
      );
      const served = await ask(t, method, path, bearer(right));
      assert.ok(served.status >= 200 && served.status < 300, `${what}: ${served.status}`);
    }
    // The health check stays open.
    assert.equal((await ask(t, "GET", "/healthz")).status, 200);
    // Authentication comes before the body: a stranger's large body is not even looked at.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(t.url).port) });
    await conn.write(
      new TextEncoder().encode(
        "GET /metrics HTTP/1.1\r\nhost: x\r\ncontent-length: 9999999\r\n\r\n",
      ),
    );
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    conn.close();
    assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 401 /);
    // A 401 says what to send.
    const response = await fetch(`${t.url}/live/snapshot`);
    assert.equal(
      (await response.json()).error,
      "authentication required: send Authorization: Bearer <token>",
    );

    const metrics = await (await fetch(`${t.url}/metrics`, { headers: bearer(METRICS) })).text();
    const failures = (route: string, reason: string) =>
      Number(
        new RegExp(
          `^litejoin_http_auth_failures_total\\{reason="${reason}",route="${route}"\\} (\\d+)$`,
          "m",
        ).exec(metrics)?.[1] ?? 0,
      );
    assert.equal(failures("/orders", "missing"), 1);
    assert.equal(failures("/live/snapshot", "missing"), 3); // GET, HEAD, and the one above
    assert.equal(failures("/live/snapshot", "scope"), 2);
    assert.equal(failures("/", "invalid"), 2, "static files count under their mount");
    assert.equal(failures("/metrics", "scope"), 1);
    assert.equal(failures("/metrics", "missing"), 2);
  }));

Deno.test("a source's own auth_token works on its path only, beside the ingest tokens", () =>
  withSecured(async (t) => {
    assert.equal((await ask(t, "POST", "/secure", bearer(OWN))).status, 202);
    assert.equal((await ask(t, "POST", "/secure", bearer(INGEST))).status, 202);
    assert.equal((await ask(t, "POST", "/orders", bearer(OWN))).status, 401);
    assert.equal((await ask(t, "GET", "/live/snapshot", bearer(OWN))).status, 401);
  }));

Deno.test("without http.auth every route answers anyone, but a source with auth_token", async () => {
  const t = await startEngine(PIPELINE);
  try {
    assert.equal((await ask(t, "POST", "/orders")).status, 202);
    assert.equal((await ask(t, "GET", "/live/snapshot")).status, 200);
    assert.equal((await ask(t, "GET", "/metrics")).status, 200);
    assert.deepEqual(await ask(t, "POST", "/secure"), {
      status: 401,
      challenge: 'Bearer realm="litejoin"',
    });
    assert.equal((await ask(t, "POST", "/secure", bearer(OWN))).status, 202);
    assert.equal((await ask(t, "POST", "/auth/login", bearer(READ))).status, 404, "no login");
  } finally {
    await t.stop();
  }
});

Deno.test("a browser logs in for an HttpOnly SameSite=Strict cookie that reads, but cannot post", () =>
  withSecured(async (t) => {
    const form = await fetch(`${t.url}/auth/login?next=/live/snapshot`);
    assert.equal(form.status, 200);
    assert.match(
      await form.text(),
      /<form method="post" action="\/auth\/login">[\s\S]*value="\/live\/snapshot"/,
    );

    const login = await fetch(`${t.url}/auth/login`, { method: "POST", headers: bearer(READ) });
    assert.equal(login.status, 200);
    assert.deepEqual(
      { ...(await login.json()), expires_at: undefined },
      { name: "reader", scopes: ["read"], expires_at: undefined },
    );
    const cookie = login.headers.get("set-cookie")!;
    assert.match(
      cookie,
      /^litejoin_session=reader\.\d+\.[\w-]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/,
    );
    const session = { cookie: cookie.split(";")[0] };
    assert.equal((await ask(t, "GET", "/live/snapshot", session)).status, 200);
    assert.equal((await ask(t, "GET", "/", session)).status, 200);
    assert.equal((await ask(t, "GET", "/metrics", session)).status, 403);
    assert.equal((await ask(t, "POST", "/orders", session)).status, 401, "a cookie never posts");

    // A form login redirects to where it was going; a wrong token gets the form again.
    const posted = await fetch(`${t.url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: READ, next: "/live/snapshot" }),
      redirect: "manual",
    });
    await posted.body?.cancel();
    assert.equal(posted.status, 303);
    assert.equal(posted.headers.get("location"), "/live/snapshot");
    const offsite = await fetch(`${t.url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: READ, next: "//evil.test/" }),
      redirect: "manual",
    });
    await offsite.body?.cancel();
    assert.equal(offsite.headers.get("location"), "/");
    const wrong = await fetch(`${t.url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: "guess-guess-guess" }),
    });
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /That token is not valid/);

    const logout = await fetch(`${t.url}/auth/logout`, { method: "POST" });
    assert.equal(logout.status, 204);
    assert.match(
      logout.headers.get("set-cookie")!,
      /^litejoin_session=; Path=\/; Max-Age=0; HttpOnly/,
    );
  }));

Deno.test("with http.auth, CORS preflights stay open and a refusal carries CORS headers, so a page can read it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-security-cors-" });
  await Deno.mkdir(`${dir}/www`);
  const t = await startEngine(PIPELINE, {
    dir,
    http: `${AUTH}, cors: { origins: ["http://dash.test"] }`,
  });
  try {
    const preflight = await fetch(`${t.url}/live/snapshot`, {
      method: "OPTIONS",
      headers: {
        origin: "http://dash.test",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
      },
    });
    await preflight.body?.cancel();
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-headers"), "authorization");
    const refused = await fetch(`${t.url}/live/snapshot`, {
      headers: { origin: "http://dash.test" },
    });
    await refused.body?.cancel();
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get("access-control-allow-origin"), "http://dash.test");
    const served = await fetch(`${t.url}/live/snapshot`, {
      headers: { origin: "http://dash.test", ...bearer(READ) },
    });
    await served.body?.cancel();
    assert.equal(served.status, 200);
    assert.equal(served.headers.get("access-control-allow-origin"), "http://dash.test");
  } finally {
    await t.stop();
  }
});

Deno.test("http.limits apply to the engine's listener: a slow-loris client is cut off while ingest goes on, and connections are capped", async () => {
  const t = await startEngine(PIPELINE, {
    http: "limits: { header_timeout: 300ms, request_timeout: 1s, max_connections: 3 }",
  });
  const port = Number(new URL(t.url).port);
  const encoder = new TextEncoder();
  const read = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf).catch(() => null);
    return n === null ? "" : new TextDecoder().decode(buf.subarray(0, n));
  };
  try {
    const client = Deno.createHttpClient({});
    const loris = await Deno.connect({ hostname: "127.0.0.1", port });
    const answer = read(loris);
    let cut = false;
    answer.then(() => cut = true);
    const head = "POST /orders HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n";
    let sent = 0;
    let accepted = 0;
    for (; !cut && sent < head.length; sent++) {
      await loris.write(encoder.encode(head[sent])).catch(() => cut = true);
      if (sent % 5 === 0) {
        const response = await fetch(`${t.url}/orders`, {
          method: "POST",
          client,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id: `o-${sent}` }),
        });
        await response.body?.cancel();
        if (response.status === 202) accepted++;
      }
      await new Promise((r) => setTimeout(r, 25)); // all of it would take 1.7 s
    }
    assert.match(await answer, /^HTTP\/1\.1 408 /);
    assert.ok(sent < head.length, `cut off after ${sent} of ${head.length} bytes`);
    assert.ok(accepted >= 1);
    loris.close();
    client.close();
    const gauge = t.engine.metrics.gauge("litejoin_http_connections", "");
    await waitFor("the clients' connections to close", () => {
      gauge.refresh();
      return gauge.get() === 0;
    });

    const open: Deno.Conn[] = [];
    for (let i = 0; i < 4; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      open.push(conn);
      await conn.write(encoder.encode("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"));
      const status = (await read(conn)).slice(0, 12);
      assert.equal(status, i < 3 ? "HTTP/1.1 200" : "HTTP/1.1 503", `connection ${i + 1}`);
    }
    for (const conn of open) conn.close();
  } finally {
    await t.stop();
  }
});

Deno.test("a source on the login path is refused at start, saying how to fix it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-security-login-" });
  await Deno.mkdir(`${dir}/www`);
  await assert.rejects(
    startEngine(
      "sources:\n  - { name: in, type: http, path: /auth/login, topic: t, key: id }\n",
      { dir, http: AUTH },
    ),
    /POST \/auth\/login is the login route of http\.auth; use another path, or set http\.auth\.login: false/,
  );
  const t = await startEngine(
    "sources:\n  - { name: in, type: http, path: /auth/login, topic: t, key: id }\n",
    {
      http: AUTH.replace("auth: {", "auth: { login: false,").replace(
        "static: [{ path: /, dir: ./www }],",
        "",
      ),
    },
  );
  try {
    assert.equal((await ask(t, "POST", "/auth/login", bearer(INGEST))).status, 202);
  } finally {
    await t.stop();
  }
});
