import assert from "node:assert/strict";
import { parseDocument } from "yaml";
import { type Access, type AuthConfig, Authenticator, authSpec, digestOf } from "./auth.ts";
import { mintSession, readSession } from "./auth_session.ts";
import { Context, invalid } from "../schema/schema.ts";
import { createLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import { HttpServer, isLoopback } from "./server.ts";

const INGEST = "ingest-token-0123456789";
const READ = "read-token-0123456789ab";
const BOTH = "both-token-0123456789abc";

function parse(yaml: string, env: Record<string, string> = {}) {
  const ctx = new Context((name) => env[name]);
  const value = authSpec.parse(parseDocument(yaml).contents as never, {
    ctx,
    path: "http.auth",
    offset: 0,
  });
  return value === invalid ? ctx.problems.map((p) => `${p.path}: ${p.message}`) : value;
}

function setup(extra: Partial<AuthConfig> = {}) {
  const config = parse(
    `
tokens:
  - { name: ingester, token: ${INGEST}, scopes: [ingest] }
  - { name: reader, token: "\${READ_TOKEN}", scopes: [read] }
  - { name: both, token: ${BOTH}, scopes: [read, metrics] }
`,
    { READ_TOKEN: READ },
  ) as AuthConfig;
  const logs: string[] = [];
  const clock = { t: 1_000_000, now: () => clock.t };
  const metrics = new Metrics();
  const auth = new Authenticator({ ...config, ...extra }, {
    log: createLogger({ write: (line) => logs.push(line) }),
    clock,
    metrics,
  });
  const check = (
    access: Access,
    opts: { method?: string; bearer?: string; query?: string; cookie?: string; extra?: string[] } =
      {},
  ) => {
    const headers = new Headers();
    if (opts.bearer !== undefined) headers.set("authorization", `Bearer ${opts.bearer}`);
    if (opts.cookie !== undefined) headers.set("cookie", `a=b; litejoin_session=${opts.cookie}`);
    const request = new Request(`http://x/r${opts.query ? `?access_token=${opts.query}` : ""}`, {
      method: opts.method ?? "GET",
      headers,
    });
    const response = auth.check(request, "/r", access, (opts.extra ?? []).map(digestOf));
    return response && `${response.status} ${response.headers.get("www-authenticate")}`;
  };
  return { auth, check, logs, clock, metrics };
}

Deno.test("auth: 401 without a token or with an unknown one, 403 without the scope, through with it", () => {
  const { check } = setup();
  assert.equal(check("read"), '401 Bearer realm="litejoin"');
  assert.equal(
    check("read", { bearer: "nope-nope-nope-nope" }),
    '401 Bearer realm="litejoin", error="invalid_token"',
  );
  assert.equal(
    check("read", { bearer: INGEST }),
    '403 Bearer realm="litejoin", error="insufficient_scope", scope="read"',
  );
  assert.equal(check("read", { bearer: READ }), undefined, "a token from the environment");
  assert.equal(check("read", { bearer: BOTH }), undefined);
  assert.equal(check("metrics", { bearer: BOTH }), undefined);
  assert.equal(
    check("metrics", { bearer: READ }),
    '403 Bearer realm="litejoin", error="insufficient_scope", scope="metrics"',
  );
  assert.equal(check("ingest", { method: "POST", bearer: INGEST }), undefined);
  assert.equal(check("open"), undefined);
  // A route's own token (a source's auth_token) counts there, beside the scoped ones.
  assert.equal(check("ingest", { method: "POST", bearer: "t0k3n", extra: ["t0k3n"] }), undefined);
  assert.equal(check("ingest", { method: "POST", bearer: INGEST, extra: ["t0k3n"] }), undefined);
  assert.equal(
    check("ingest", { method: "POST", bearer: "t0k3n" }),
    '401 Bearer realm="litejoin", error="invalid_token"',
  );
  // Another scheme is not a bearer token.
  const { auth } = setup();
  const basic = new Request("http://x/r", { headers: { authorization: `Basic ${btoa("a:b")}` } });
  assert.equal(auth.check(basic, "/r", "read")?.status, 401);
});

Deno.test("auth off: every route is open, except one with its own token", () => {
  const auth = new Authenticator(parse("{}") as AuthConfig, {
    log: createLogger({ write: () => {} }),
    clock: { now: () => 0 },
  });
  assert.equal(auth.enabled, false);
  assert.equal(auth.check(new Request("http://x/"), "/", "read"), undefined);
  const post = (bearer?: string) =>
    auth.check(
      new Request("http://x/in", {
        method: "POST",
        headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
      }),
      "/in",
      "ingest",
      [digestOf("t0k3n")],
    )?.status;
  assert.equal(post(), 401);
  assert.equal(post("wrong"), 401);
  assert.equal(post("t0k3n"), undefined);
});

Deno.test("auth: ?access_token= only when query_token is on, and only on GET and HEAD", () => {
  assert.equal(setup().check("read", { query: READ }), '401 Bearer realm="litejoin"');
  const { check } = setup({ query_token: true });
  assert.equal(check("read", { query: READ }), undefined);
  assert.equal(check("read", { method: "HEAD", query: READ }), undefined);
  assert.equal(check("ingest", { method: "POST", query: INGEST }), '401 Bearer realm="litejoin"');
  assert.equal(
    check("read", { query: "wrong-wrong-wrong-wrong" }),
    '401 Bearer realm="litejoin", error="invalid_token"',
  );
});

Deno.test("auth: a session cookie stands for its token on GET and HEAD until it expires or the token goes", () => {
  const { auth, check, clock } = setup();
  const reader = auth.tokens.find((t) => t.name === "reader")!;
  const session = mintSession(reader, clock.t + 60_000);
  assert.equal(check("read", { cookie: session }), undefined);
  assert.equal(
    check("metrics", { cookie: session }),
    '403 Bearer realm="litejoin", error="insufficient_scope", scope="metrics"',
  );
  assert.equal(
    check("read", { method: "POST", cookie: session }),
    '401 Bearer realm="litejoin"',
    "never for POST",
  );
  const [name, expires, mac] = session.split(".");
  assert.equal(
    check("read", { cookie: `${name}.${Number(expires) + 1}.${mac}` }),
    '401 Bearer realm="litejoin", error="invalid_token"',
    "tampered",
  );
  assert.equal(
    check("read", { cookie: `both.${expires}.${mac}` }),
    '401 Bearer realm="litejoin", error="invalid_token"',
    "another token's name",
  );
  clock.t += 60_000;
  assert.equal(
    check("read", { cookie: session }),
    '401 Bearer realm="litejoin", error="invalid_token"',
    "expired",
  );
  // The token rotated away: its sessions end with it.
  const rotated = [{ ...reader, token: "a-new-secret-0123456789" }];
  assert.equal(readSession(session, rotated, clock.t - 1), undefined);
  assert.equal(readSession(session, [reader], clock.t - 1)?.name, "reader");
  assert.equal(readSession("garbage", [reader], 0), undefined);
});

Deno.test("auth: refusals are counted by route and reason, and logged at most once per interval with the count held back", () => {
  const { check, logs, clock, metrics } = setup({ log_interval: 60_000 });
  for (let i = 0; i < 5; i++) check("read");
  check("read", { bearer: "nope-nope-nope-nope" });
  check("metrics", { bearer: READ });
  const failures = metrics.counter("litejoin_http_auth_failures_total", "");
  assert.equal(failures.get({ route: "/r", reason: "missing" }), 5);
  assert.equal(failures.get({ route: "/r", reason: "invalid" }), 1);
  assert.equal(failures.get({ route: "/r", reason: "scope" }), 1);
  assert.equal(logs.length, 1);
  assert.match(logs[0], /warn +refused GET \/r: read access needs a token/);
  clock.t += 60_000;
  check("read", { bearer: "nope-nope-nope-nope" });
  assert.equal(logs.length, 2);
  assert.match(logs[1], /refused GET \/r: invalid or expired token \(6 more like it held back\)/);
  assert.ok(logs.every((l) => !l.includes("nope-nope")), "tokens are never logged");
});

Deno.test("auth config: short or repeated tokens, unknown scopes and missing variables are refused with the fix", () => {
  assert.deepEqual(parse("{ tokens: [{ name: a, token: short, scopes: [read] }] }"), [
    "http.auth.tokens[0].token: is 5 characters; use at least 16 random ones (e.g. openssl rand -hex 32)",
  ]);
  assert.deepEqual(
    parse(
      `{ tokens: [{ name: a, token: ${READ}, scopes: [read] }, { name: a, token: ${BOTH}, scopes: [read] }] }`,
    ),
    ["http.auth: token name a is used twice; names must differ"],
  );
  assert.deepEqual(
    parse(
      `{ tokens: [{ name: a, token: ${READ}, scopes: [read] }, { name: b, token: ${READ}, scopes: [read] }] }`,
    ),
    ["http.auth: tokens b and another have the same secret"],
  );
  assert.deepEqual(parse(`{ tokens: [{ name: a, token: ${READ}, scopes: [reed] }] }`), [
    'http.auth.tokens[0].scopes[0]: "reed" is not one of ingest, read, metrics (did you mean "read"?)',
  ]);
  assert.deepEqual(parse(`{ tokens: [{ name: a, token: "\${NOPE}", scopes: [read] }] }`), [
    "http.auth.tokens[0].token: environment variable NOPE is not set (export it, or write ${NOPE:-default})",
  ]);
});

Deno.test("a listener reachable from other hosts without http.auth logs a warning; loopback or auth does not", async () => {
  const warnings = async (hostname: string, config: AuthConfig) => {
    const logs: string[] = [];
    const log = createLogger({ write: (line) => logs.push(line) });
    const http = new HttpServer(log, {
      auth: new Authenticator(config, { log, clock: { now: () => 0 } }),
    });
    await http.start({ hostname, port: 0 });
    await http.stop();
    return logs.filter((l) => l.includes("without http.auth"));
  };
  const off = parse("{}") as AuthConfig;
  const on = parse(`{ tokens: [{ name: a, token: ${READ}, scopes: [read] }] }`) as AuthConfig;
  const [line, ...more] = await warnings("0.0.0.0", off);
  assert.match(
    line,
    /warn +listening on 0\.0\.0\.0, reachable from other hosts, without http\.auth: event streams, snapshots, \/metrics and static files answer anyone; set http\.auth\.tokens \(docs\/security\.md\)/,
  );
  assert.equal(more.length, 0);
  assert.deepEqual(await warnings("127.0.0.1", off), []);
  assert.deepEqual(await warnings("0.0.0.0", on), []);
  assert.equal(isLoopback("::1"), true);
  assert.equal(isLoopback("127.0.0.53"), true);
  assert.equal(isLoopback("localhost"), true);
  assert.equal(isLoopback("::"), false);
  assert.equal(isLoopback("10.0.0.1"), false);
});
