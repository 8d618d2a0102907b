import assert from "node:assert/strict";
import { HttpServer } from "./server.ts";
import { DEFAULT_LIMITS, type Limits, limitsSpec } from "./limits.ts";
import { Context, invalid } from "../schema/schema.ts";
import { silentLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import { parseDocument } from "yaml";

const ENCODER = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serve(limits: Partial<Limits>, setup: (http: HttpServer) => void = () => {}) {
  const metrics = new Metrics();
  const http = new HttpServer(silentLogger, { limits: { ...DEFAULT_LIMITS, ...limits }, metrics });
  http.route("GET", "/hello", () => new Response("hello"), { access: "open" });
  setup(http);
  const { port } = await http.start({ hostname: "127.0.0.1", port: 0 });
  return { http, port, url: `http://127.0.0.1:${port}`, metrics };
}

/** Reads from `conn` until it closes; resolves with everything read. */
async function readAll(conn: Deno.Conn): Promise<string> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(16 * 1024);
  let text = "";
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
  } catch { /* reset */ }
  return text;
}

Deno.test("a slow-loris client sending its headers a byte at a time, and one sending nothing, are cut off at header_timeout while other clients are served", async () => {
  const { http, port, url, metrics } = await serve({ header_timeout: 400, request_timeout: 2000 });
  try {
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    const silence = readAll(silent); // a connection that never sends a byte
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const answer = readAll(conn);
    let closed = false;
    answer.then(() => closed = true);
    // 400 bytes at one per 20 ms would take 8 s; it must not get that far.
    const request = "GET /hello HTTP/1.1\r\nhost: x\r\n" + "x-pad: " + "a".repeat(360) + "\r\n\r\n";
    let sent = 0;
    let served = 0;
    while (!closed && sent < request.length) {
      try {
        await conn.write(ENCODER.encode(request[sent++]));
      } catch {
        break; // the server closed the connection
      }
      if (sent % 10 === 0) {
        const response = await fetch(`${url}/hello`);
        assert.equal(await response.text(), "hello");
        served++;
      }
      await sleep(20);
    }
    const text = await answer;
    conn.close();
    assert.ok(sent < request.length, `cut off after ${sent} of ${request.length} bytes`);
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(served >= 1, "normal clients were served meanwhile");
    assert.match(await silence, /^HTTP\/1\.1 408 /);
    silent.close();
    assert.equal(metrics.counter("litejoin_http_refused_total", "").get({ reason: "timeout" }), 2);
  } finally {
    await http.stop();
  }
});

Deno.test("a client trickling its body is cut off at request_timeout, and the handler never runs", async () => {
  let handled = 0;
  const { http, port } = await serve({ header_timeout: 300, request_timeout: 600 }, (http) => {
    http.route("POST", "/in", async (r) => {
      handled++;
      return new Response(String((await r.arrayBuffer()).byteLength));
    }, { access: "open" });
  });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const answer = readAll(conn);
    let closed = false;
    answer.then(() => closed = true);
    await conn.write(ENCODER.encode("POST /in HTTP/1.1\r\nhost: x\r\ncontent-length: 200\r\n\r\n"));
    let sent = 0;
    while (!closed && sent < 200) { // 200 bytes at one per 20 ms would take 4 s
      try {
        await conn.write(ENCODER.encode("a"));
      } catch {
        break;
      }
      sent++;
      await sleep(20);
    }
    assert.match(await answer, /^HTTP\/1\.1 408 /);
    conn.close();
    assert.ok(sent < 200, `cut off after ${sent} of 200 bytes`);
    assert.equal(handled, 0);
  } finally {
    await http.stop();
  }
});

Deno.test("headers over 16 KiB get 431, and a request that is not HTTP 400", async () => {
  const { http, port, metrics } = await serve({});
  const answer = async (bytes: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(ENCODER.encode(bytes)).catch(() => {});
    const text = await readAll(conn);
    conn.close();
    return text.split("\r\n")[0];
  };
  try {
    assert.equal(
      await answer(`GET /hello HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(17 * 1024)}\r\n\r\n`),
      "HTTP/1.1 431 Request Header Fields Too Large",
    );
    assert.equal(await answer("HELLO\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    const refused = metrics.counter("litejoin_http_refused_total", "");
    assert.equal(refused.get({ reason: "headers" }), 1);
    assert.equal(refused.get({ reason: "malformed" }), 1);
  } finally {
    await http.stop();
  }
});

Deno.test("past max_connections a request is answered 503 and its connection closed; a freed slot serves again", async () => {
  const { http, port, metrics } = await serve({ max_connections: 2 });
  const get = async (conn: Deno.Conn) => {
    await conn.write(ENCODER.encode("GET /hello HTTP/1.1\r\nhost: x\r\n\r\n"));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    return n === null ? "closed" : new TextDecoder().decode(buf.subarray(0, n));
  };
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      assert.match(await get(conns[i]), /^HTTP\/1\.1 200 [\s\S]*hello/);
    }
    const third = await Deno.connect({ hostname: "127.0.0.1", port });
    const refused = await get(third);
    assert.match(refused, /^HTTP\/1\.1 503 /);
    assert.match(refused, /connection: close/i);
    assert.match(refused, /too many connections \(http.limits.max_connections is 2\)/);
    assert.equal(await readAll(third), "", "and then closed");
    third.close();
    // The two kept-alive connections are still served.
    assert.match(await get(conns[0]), /^HTTP\/1\.1 200 /);
    conns.shift()!.close();
    const fourth = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(fourth);
    let answer = await get(fourth);
    for (let i = 0; i < 50 && answer.startsWith("HTTP/1.1 503"); i++) {
      // The server may not have seen the closed connection go yet.
      fourth.close();
      await sleep(20);
      conns[conns.length - 1] = await Deno.connect({ hostname: "127.0.0.1", port });
      answer = await get(conns[conns.length - 1]);
    }
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.ok(
      metrics.counter("litejoin_http_refused_total", "").get({ reason: "connections" }) >= 1,
    );
  } finally {
    for (const conn of conns) conn.close();
    await http.stop();
  }
});

Deno.test("an idle keep-alive connection is closed after idle_timeout, and so is a response its client does not read", async () => {
  const { http, port } = await serve({ idle_timeout: 300 }, (http) => {
    http.route("GET", "/endless", () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull: (c) => c.enqueue(new Uint8Array(64 * 1024)),
        }),
      ), { access: "open" });
  });
  try {
    const idle = await Deno.connect({ hostname: "127.0.0.1", port });
    await idle.write(ENCODER.encode("GET /hello HTTP/1.1\r\nhost: x\r\n\r\n"));
    assert.match(await readAll(idle), /^HTTP\/1\.1 200 [\s\S]*hello/, "answered, then closed");
    idle.close();

    const stuck = await Deno.connect({ hostname: "127.0.0.1", port });
    await stuck.write(ENCODER.encode("GET /endless HTTP/1.1\r\nhost: x\r\n\r\n"));
    // Never read until the server gives up; then what it sent drains and the socket ends.
    let drained = 0;
    const buf = new Uint8Array(1024 * 1024);
    await sleep(600);
    while (true) {
      const n = await stuck.read(buf).catch(() => null);
      if (n === null) break;
      drained += n;
      assert.ok(drained < 512 * 1024 * 1024, "the stream ended");
    }
    stuck.close();
    assert.ok(drained > 0);
  } finally {
    await http.stop();
  }
});

Deno.test("a body over a route's limit is refused with 413: max_body by default, the route's own when set", async () => {
  let got = 0;
  const { http, url, metrics } = await serve({ max_body: 1024 }, (http) => {
    http.route(
      "POST",
      "/small",
      async (r) => new Response(String((await r.arrayBuffer()).byteLength)),
      {
        access: "open",
      },
    );
    http.route("POST", "/big", async (r) => {
      got = (await r.arrayBuffer()).byteLength;
      return new Response("ok");
    }, { access: "open", maxBody: 8192 });
  });
  try {
    const post = (path: string, size: number, streamed = false) =>
      fetch(url + path, {
        method: "POST",
        body: streamed
          ? new ReadableStream({
            start(c) {
              c.enqueue(new Uint8Array(size));
              c.close();
            },
          })
          : new Uint8Array(size),
      });
    let response = await post("/small", 1024);
    assert.equal(await response.text(), "1024");
    response = await post("/small", 1025);
    assert.equal(response.status, 413);
    assert.match(
      (await response.json()).error,
      /body of 1025 bytes is over this route's limit \(1024\)/,
    );
    response = await post("/small", 4000, true);
    assert.equal(response.status, 413);
    assert.match((await response.json()).error, /over this route's limit \(1024 bytes\)/);
    response = await post("/hello", 5000); // a GET route: 405, body drained
    assert.equal(response.status, 405);
    await response.body?.cancel();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
    await conn.write(
      ENCODER.encode("GET /hello HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n"),
    );
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    conn.close();
    assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 413 /);
    response = await post("/big", 8000, true);
    assert.equal(await response.text(), "ok");
    assert.equal(got, 8000);
    assert.equal(metrics.counter("litejoin_http_refused_total", "").get({ reason: "body" }), 3);
  } finally {
    await http.stop();
  }
});

Deno.test("request_timeout does not cut a long response: an event stream outlives it", async () => {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const { http, url } = await serve({ header_timeout: 200, request_timeout: 200 }, (http) => {
    http.route(
      "GET",
      "/stream",
      () =>
        new Response(new ReadableStream({ start: (c) => void (controller = c) }), {
          headers: { "content-type": "text/event-stream" },
        }),
      { access: "open" },
    );
  });
  try {
    const response = await fetch(`${url}/stream`);
    const reader = response.body!.getReader();
    for (let i = 0; i < 4; i++) {
      await sleep(150); // 600 ms in all: three times request_timeout
      controller.enqueue(ENCODER.encode(`data: ${i}\n\n`));
      const { value } = await reader.read();
      assert.equal(new TextDecoder().decode(value), `data: ${i}\n\n`);
    }
    await reader.cancel();
  } finally {
    await http.stop();
  }
});

Deno.test("limits config: durations above 0, and header_timeout within request_timeout", () => {
  const parse = (yaml: string) => {
    const ctx = new Context(() => undefined);
    const value = limitsSpec.parse(parseDocument(yaml).contents as never, {
      ctx,
      path: "limits",
      offset: 0,
    });
    return value === invalid ? ctx.problems.map((p) => `${p.path}: ${p.message}`) : value;
  };
  assert.deepEqual(parse("{}"), DEFAULT_LIMITS);
  assert.deepEqual(parse("{ idle_timeout: 0 }"), [
    "limits.idle_timeout: must be above 0 (the idle timeout cannot be switched off)",
  ]);
  assert.deepEqual(parse("{ header_timeout: 2m, request_timeout: 1m }"), [
    "limits: header_timeout must not be longer than request_timeout (headers are part of the request)",
  ]);
});
