import assert from "node:assert/strict";
import { type Departure, Hub } from "./_sse_hub.ts";
import type { StoredEvent } from "./_sse_store.ts";

const ENCODER = new TextEncoder();

function hub(opts: { replay: number; clientBuffer: number }) {
  const departures: [Departure, number][] = [];
  const h = new Hub(0, [], {
    ...opts,
    retryMs: 1000,
    reset: (reason) => ENCODER.encode(`event: reset\ndata: ${reason}\n\n`),
  }, { sent: () => {}, departed: (reason, count) => departures.push([reason, count]) });
  return { hub: h, departures };
}

const events = (from: number, to: number): StoredEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    seq: from + i,
    name: "orders",
    data: JSON.stringify({ key: `k${from + i}`, pad: "x".repeat(80) }),
  }));

interface Seen {
  ids: number[];
  types: string[];
}

/** Reads a stream to its end (or until `stop`), returning the ids and event types seen. */
async function drain(
  stream: ReadableStream<Uint8Array>,
  stop: (seen: Seen) => boolean = () => false,
) {
  const seen: Seen = { ids: [], types: [] };
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    text += decoder.decode(chunk, { stream: true });
    const blocks = text.split("\n\n");
    text = blocks.pop()!;
    for (const block of blocks) {
      const id = /^id: (\d+)$/m.exec(block);
      const type = /^event: (\w+)$/m.exec(block);
      if (id) seen.ids.push(Number(id[1]));
      if (type) seen.types.push(type[1]);
    }
    if (stop(seen)) break;
  }
  return seen;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("hub cuts off a client that stops reading once it falls out of the replay buffer", async () => {
  const { hub: h, departures } = hub({ replay: 50, clientBuffer: 1024 });
  const slow = h.connect(undefined);
  const fast = h.connect(undefined);
  const fastSeen = drain(fast);
  for (let seq = 1; seq <= 200; seq += 4) {
    h.publish(events(seq, seq + 3)); // never waits for the slow client
    await tick();
  }
  assert.deepEqual(departures, [["lagging", 1]]);
  assert.equal(h.clients, 1);
  // The slow client gets what was queued for it (at most client_buffer and one batch),
  // then a reset telling it to re-hydrate, then the end of the stream.
  const slowSeen = await drain(slow);
  assert.ok(slowSeen.ids.length > 0 && slowSeen.ids.length < 50, String(slowSeen.ids.length));
  assert.deepEqual(slowSeen.ids, slowSeen.ids.map((_, i) => i + 1));
  assert.equal(slowSeen.types.at(-1), "reset");
  h.closeAll();
  const fastIds = (await fastSeen).ids;
  assert.deepEqual(fastIds, Array.from({ length: 200 }, (_, i) => i + 1));
});

Deno.test("hub lets a reader slower than the publisher catch up from the shared buffer, in order", async () => {
  const { hub: h, departures } = hub({ replay: 1000, clientBuffer: 300 });
  const stream = h.connect(undefined);
  for (let seq = 1; seq <= 600; seq += 3) h.publish(events(seq, seq + 2));
  const seen = await drain(stream, (s) => s.ids.length >= 600);
  assert.deepEqual(seen.ids, Array.from({ length: 600 }, (_, i) => i + 1));
  assert.deepEqual(departures, [["client", 1]]); // it left by itself; it was never cut off
  h.closeAll();
});
