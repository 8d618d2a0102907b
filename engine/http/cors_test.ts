import assert from "node:assert/strict";
import { Cors, type CorsConfig } from "./cors.ts";
import { parseConfig } from "../config/load.ts";
import { ConfigError } from "../config/load.ts";

const config = (c: Partial<CorsConfig> = {}): CorsConfig => ({
  origins: ["https://dash.example.com"],
  methods: ["GET", "POST"],
  headers: ["content-type", "last-event-id"],
  credentials: false,
  max_age: 600_000,
  ...c,
});

const preflight = (origin: string, method = "GET", headers = "") =>
  new Request("http://engine/stream", {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": method,
      ...(headers ? { "access-control-request-headers": headers } : {}),
    },
  });

Deno.test("cors preflight grants a listed origin its method and headers", () => {
  const response = new Cors(config()).preflight(
    preflight("https://dash.example.com", "GET", "Last-Event-ID"),
  );
  assert.equal(response.status, 204);
  assert.equal(response.headers.get("access-control-allow-origin"), "https://dash.example.com");
  assert.equal(response.headers.get("access-control-allow-methods"), "OPTIONS, GET, POST");
  assert.equal(response.headers.get("access-control-allow-headers"), "last-event-id");
  assert.equal(response.headers.get("access-control-max-age"), "600");
  assert.equal(response.headers.get("vary"), "origin");
});

Deno.test("cors preflight refuses, saying what to add, an unlisted origin, method or header", async () => {
  const cors = new Cors(config());
  const refusals = [
    [
      preflight("https://evil.example"),
      "origin https://evil.example is not allowed; add it to http.cors.origins",
    ],
    [
      preflight("https://dash.example.com", "DELETE"),
      "method DELETE is not allowed; add it to http.cors.methods",
    ],
    [
      preflight("https://dash.example.com", "GET", "x-secret"),
      "header x-secret is not allowed; add it to http.cors.headers",
    ],
  ] as const;
  for (const [request, message] of refusals) {
    const response = cors.preflight(request);
    assert.equal(response.status, 403);
    assert.deepEqual(await response.json(), { error: message });
  }
});

Deno.test("cors headers go on responses to allowed origins only; * answers * unless credentials", () => {
  const get = (origin?: string) =>
    new Request("http://engine/x", { headers: origin ? { origin } : {} });
  const listed = new Cors(config({ credentials: true }));
  const ok = listed.decorate(get("https://dash.example.com"), new Response("x"));
  assert.equal(ok.headers.get("access-control-allow-origin"), "https://dash.example.com");
  assert.equal(ok.headers.get("access-control-allow-credentials"), "true");
  assert.equal(
    listed.decorate(get("https://evil.example"), new Response("x")).headers.has(
      "access-control-allow-origin",
    ),
    false,
  );
  assert.equal(
    listed.decorate(get(), new Response("x")).headers.has("access-control-allow-origin"),
    false,
  );
  const any = new Cors(config({ origins: ["*"] }));
  assert.equal(
    any.decorate(get("http://a.test"), new Response("x")).headers.get(
      "access-control-allow-origin",
    ),
    "*",
  );
  // A response with immutable headers is copied, not broken.
  const redirected = any.decorate(get("http://a.test"), Response.redirect("http://engine/y", 302));
  assert.equal(redirected.headers.get("access-control-allow-origin"), "*");
  assert.equal(redirected.status, 302);
});

Deno.test("cors config errors name the field and the fix", () => {
  const bad = `http:
  cors:
    origins: ["https://ok.example", "https://dash.example.com/", "*"]
    credentials: true
`;
  try {
    parseConfig(bad, "litejoin.yaml");
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.lines, [
      'litejoin.yaml:3:37: http.cors.origins[1]: "https://dash.example.com/" must be an origin such as https://dash.example.com (scheme, host, port; no path or trailing /), or *',
    ]);
  }
  try {
    parseConfig(`http:\n  cors: { origins: ["*"], credentials: true }\n`, "litejoin.yaml");
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.lines, [
      "litejoin.yaml:2:9: http.cors: credentials: true needs the origins listed; browsers refuse it with *",
    ]);
  }
});
