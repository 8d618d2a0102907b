import assert from "node:assert/strict";
import { StartupListener } from "./startup.ts";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("while the engine starts, /healthz is alive, /readyz and everything else 503 with the phase", async () => {
  let now = 1_000_000;
  const port = freePort();
  const startup = StartupListener.start({ hostname: "127.0.0.1", port }, { now: () => now });
  try {
    startup.phase = "catching joins up";
    now += 4000;
    const url = `http://127.0.0.1:${port}`;
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), {
      status: "starting",
      phase: "catching joins up",
      uptime_seconds: 4,
    });
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), {
      status: "not ready",
      reasons: [{ check: "starting", message: "catching joins up" }],
    });
    const post = await fetch(`${url}/ingest`, { method: "POST", body: "{}" });
    assert.equal(post.status, 503);
    assert.equal(post.headers.get("retry-after"), "5");
    assert.deepEqual(await post.json(), {
      error: "the engine is starting (catching joins up); retry shortly",
    });
  } finally {
    await startup.stop();
  }
  // The address is free again for the engine's own listener.
  const again = Deno.listen({ hostname: "127.0.0.1", port });
  again.close();
});

Deno.test("the startup listener reports a port in use as the engine's listener does", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    assert.throws(
      () => StartupListener.start({ hostname: "127.0.0.1", port }, { now: () => 0 }),
      new RegExp(`^Error: cannot listen on 127\\.0\\.0\\.1:${port}: .*change http\\.listen\\)$`),
    );
  } finally {
    taken.close();
  }
});
