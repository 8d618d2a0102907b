import assert from "node:assert/strict";
import { HttpServer } from "./server.ts";
import { Cors } from "./cors.ts";
import { createLogger, silentLogger } from "../log.ts";

async function serve(setup: (http: HttpServer) => void, log = silentLogger) {
  const http = new HttpServer(log);
  setup(http);
  const { port } = await http.start({ hostname: "127.0.0.1", port: 0 });
  return { http, url: `http://127.0.0.1:${port}` };
}

Deno.test("router prefers an exact route, then the longest mount, else 404", async () => {
  const { http, url } = await serve((http) => {
    http.route("GET", "/metrics", () => new Response("metrics"));
    http.mount("/", () => new Response("root"));
    http.mount("/ui", () => new Response("ui"));
  });
  try {
    const text = async (path: string, method = "GET") => {
      const response = await fetch(url + path, { method });
      return `${response.status} ${await response.text()}`;
    };
    assert.equal(await text("/metrics"), "200 metrics");
    assert.equal(await text("/ui/app.js"), "200 ui");
    assert.equal(await text("/uix"), "200 root");
    assert.equal(await text("/anything"), "200 root");
    assert.match(await text("/ui/x", "POST"), /^405 .*POST is not allowed on \/ui\/x; use GET/);
  } finally {
    await http.stop();
  }
});

Deno.test("stop runs its hooks before waiting for requests, and gives up on a client that does not read", async () => {
  const logs: string[] = [];
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const order: string[] = [];
  const { http, url } = await serve((http) => {
    http.route("GET", "/forever", () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start: (c) => void (controller = c),
          pull: (c) => c.enqueue(new Uint8Array(64 * 1024)), // as much as the socket takes
        }),
      ));
    http.onStop(() => void order.push("hook"));
  }, createLogger({ write: (line) => logs.push(line) }));
  const port = Number(new URL(url).port);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode("GET /forever HTTP/1.1\r\nhost: x\r\n\r\n"));
  await new Promise((r) => setTimeout(r, 200)); // let the socket buffers fill
  http.onStop(() => {
    order.push("close");
    controller.close();
  });
  await http.stop(300);
  assert.deepEqual(order, ["hook", "close"]);
  assert.ok(logs.some((l) => l.includes("connections still open 300 ms after stopping")));
  conn.close();
  await http.closed;
});

Deno.test("router answers CORS preflights only for paths it serves", async () => {
  const { http, url } = await serve((http) => {
    http.route("GET", "/live", () => new Response("ok"));
    http.useCors(
      new Cors({
        origins: ["http://app.test"],
        methods: ["GET"],
        headers: ["last-event-id"],
        credentials: false,
        max_age: 60_000,
      }),
    );
  });
  try {
    const preflight = (path: string) =>
      fetch(url + path, {
        method: "OPTIONS",
        headers: { origin: "http://app.test", "access-control-request-method": "GET" },
      });
    const ok = await preflight("/live");
    await ok.body?.cancel();
    assert.equal(ok.status, 204);
    const missing = await preflight("/nothing");
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const get = await fetch(url + "/live", { headers: { origin: "http://app.test" } });
    assert.equal(get.headers.get("access-control-allow-origin"), "http://app.test");
    await get.body?.cancel();
  } finally {
    await http.stop();
  }
});
