import assert from "node:assert/strict";
import { startEngine, topicKeys, waitFor, withJoinToHook } from "../../tests/_helpers.ts";

const CONFIG = `
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: orders_in, type: http, path: /in, topic: orders, key: customer.id, max_body: 2KiB }
  - { name: secured, type: http, path: /secure, topic: orders, key: id, auth_token: t0k3n }
  - { name: by_header, type: http, path: /header, topic: orders, key_header: X-Key }
`;

type Engine = Awaited<ReturnType<typeof startEngine>>;

async function withEngine(fn: (t: Engine) => Promise<void>) {
  const t = await startEngine(CONFIG);
  try {
    await fn(t);
  } finally {
    await t.stop();
  }
}

Deno.test("http source answers 202 only once the messages are committed", () =>
  withEngine(async (t) => {
    const response = await t.post("/in", [{ customer: { id: "a" } }, { customer: { id: 7 } }]);
    assert.equal(response.status, 202);
    assert.deepEqual(await response.json(), { accepted: 2 });
    // Read with fresh connections straight after the answer: the rows are there.
    assert.deepEqual([...topicKeys(`${t.dir}/data`, "orders", 2)].sort(), ["7", "a"]);
  }));

Deno.test("http source takes one object, an array, or NDJSON", () =>
  withEngine(async (t) => {
    assert.equal((await t.post("/in", { customer: { id: "one" } })).status, 202);
    const ndjson = '{"customer":{"id":"n1"}}\n\n{"customer":{"id":"n2"}}\n';
    const response = await t.post("/in", ndjson, { "content-type": "application/x-ndjson" });
    assert.deepEqual(await response.json(), { accepted: 2 });
    assert.deepEqual([...topicKeys(`${t.dir}/data`, "orders", 2)].sort(), ["n1", "n2", "one"]);
  }));

Deno.test("http source refuses malformed JSON with 400 and the position", () =>
  withEngine(async (t) => {
    const response = await t.post("/in", '[{"customer": {"id": "a"}},\n {"customer": x}]');
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), {
      error: 'malformed JSON at line 2 column 15: unexpected "x"',
      line: 2,
      column: 15,
    });
    const nd = await t.post("/in", '{"customer":{"id":1}}\n{"customer":', {
      "content-type": "application/x-ndjson",
    });
    assert.equal(nd.status, 400);
    assert.match(
      (await nd.json()).error,
      /^malformed JSON on NDJSON line 2 column 13: unexpected end of input/,
    );
  }));

Deno.test("http source refuses a whole request when one item lacks the key", () =>
  withEngine(async (t) => {
    const response = await t.post("/in", [{ customer: { id: "ok" } }, { customer: {} }, {
      customer: { id: "" },
    }]);
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), {
      error:
        'item 1 has no key at "customer.id" (a non-empty string or number); nothing was stored',
      index: 1,
      field: "customer.id",
    });
    const notObject = await t.post("/in", [{ customer: { id: "ok" } }, 5]);
    assert.equal(notObject.status, 400);
    assert.deepEqual(await notObject.json(), { error: "item 1 is not a JSON object", index: 1 });
    assert.equal(topicKeys(`${t.dir}/data`, "orders", 2).size, 0);
  }));

Deno.test("http source refuses bodies over max_body with 413, declared or streamed", () =>
  withEngine(async (t) => {
    const big = JSON.stringify([{ customer: { id: "x" }, pad: "p".repeat(3000) }]);
    const declared = await t.post("/in", big);
    assert.equal(declared.status, 413);
    assert.match((await declared.json()).error, /over max_body \(2048\)/);
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const streamed = await fetch(`${t.url}/in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
    });
    assert.equal(streamed.status, 413);
    await streamed.body?.cancel();
    assert.equal(topicKeys(`${t.dir}/data`, "orders", 2).size, 0);
  }));

Deno.test("http source refuses a wrong content type with 415", () =>
  withEngine(async (t) => {
    const response = await t.post("/in", "customer=1", {
      "content-type": "application/x-www-form-urlencoded",
    });
    assert.equal(response.status, 415);
    assert.match((await response.json()).error, /send application\/json or application\/x-ndjson/);
  }));

Deno.test("http source refuses a body that is not valid UTF-8 and says at which byte", () =>
  withEngine(async (t) => {
    const text = new TextEncoder().encode('{"customer":{"id":"a"},"s":"');
    const response = await fetch(`${t.url}/in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new Uint8Array([...text, 0xc3, 0x28, 0x22, 0x7d]),
    });
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), {
      error: "body is not valid UTF-8 at byte 28; send JSON encoded as UTF-8",
      byte: 28,
    });
    assert.deepEqual([...topicKeys(`${t.dir}/data`, "orders", 2)], []);
  }));

Deno.test("http source with auth_token refuses a missing or wrong bearer token with 401", () =>
  withEngine(async (t) => {
    assert.equal((await t.post("/secure", { id: "a" })).status, 401);
    const wrong = await t.post("/secure", { id: "a" }, { authorization: "Bearer nope" });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    assert.equal(
      (await t.post("/secure", { id: "a" }, { authorization: "Bearer t0k3n" })).status,
      202,
    );
  }));

Deno.test("http source takes the key from key_header and refuses a request without it", () =>
  withEngine(async (t) => {
    assert.equal((await t.post("/header", { v: 1 }, { "x-key": "hk" })).status, 202);
    const missing = await t.post("/header", { v: 1 });
    assert.equal(missing.status, 400);
    assert.match((await missing.json()).error, /header X-Key/);
    assert.deepEqual([...topicKeys(`${t.dir}/data`, "orders", 2)], ["hk"]);
  }));

Deno.test("http listener answers 404 and 405 with a JSON error, and /healthz", () =>
  withEngine(async (t) => {
    const missing = await fetch(`${t.url}/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: "nothing is served at /nope" });
    const wrong = await fetch(`${t.url}/in`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "POST");
    await wrong.body?.cancel();
    const health = await fetch(`${t.url}/healthz`);
    assert.equal((await health.json()).status, "ok");
  }));

Deno.test("http source refuses a payload nested deeper than SQLite reads, so joins keep working", () =>
  withJoinToHook(async (t, receiver) => {
    // SQLite reads 1000 levels (the object itself is the first); json_extract calls more "malformed".
    const nest = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
    const deep = await t.post("/in", `[{"id":"ok"},{"id":"deep","x":${nest(1000)}}]`);
    assert.equal(deep.status, 400);
    assert.deepEqual(await deep.json(), {
      error: "item 1 is nested deeper than 1000 levels of arrays and objects, more than " +
        "SQLite's JSON functions read; nothing was stored",
      index: 1,
    });
    const truncated = await t.post("/in", `{"id":"cut","x":${nest(100_000).slice(0, -1)}`);
    assert.equal(truncated.status, 400);
    assert.deepEqual(await truncated.json(), {
      error: "malformed JSON at line 1 column 1016: nested deeper than 1000 levels",
      line: 1,
      column: 1016,
    });
    const limit = await t.post("/in", `{"id":"limit","n":1,"x":${nest(999)}}`);
    assert.equal(limit.status, 202);
    await limit.body?.cancel();
    await waitFor(
      "the join to deliver the deepest payload it can read",
      () => receiver.results().some((r) => r.key === "limit"),
    );
    assert.deepEqual([...topicKeys(`${t.dir}/data`, "events", 2)], ["limit"]);
  }));

Deno.test("a payload with an integer beyond 2^53 is joined and delivered, as the nearest number", () =>
  withJoinToHook(async (t, receiver) => {
    const response = await t.post(
      "/in",
      `[{"id":"big","n":9007199254740993},{"id":"small","n":1}]`,
    );
    assert.equal(response.status, 202);
    await response.body?.cancel();
    await waitFor("both results", () => receiver.results().length >= 2);
    const rows = Object.fromEntries(receiver.results().map((r) => [r.key, r.row.n]));
    assert.deepEqual(rows, { big: 9007199254740992, small: 1 });
  }));
