import assert from "node:assert/strict";
import { parseConfig } from "../config/load.ts";
import { Readers } from "../store/readers.ts";
import { Writer } from "../store/writer.ts";
import { scanTopic } from "./scan.ts";
import type { WindowTask } from "./task.ts";

const T0 = Date.UTC(2030, 0, 1);

Deno.test("a restart reads back events a window may hold, by payload time of any form, and every later write", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-scan-" });
  const config = parseConfig(
    `
sources: [{ name: in, type: http, path: /in, topic: events, key: id }]
sinks: [{ name: out, type: sqlite, path: ./out.db }]
windows:
  - name: w
    type: tumbling
    size: 10s
    grace: 1s
    time: at.when
    sql: SELECT count(*) AS n FROM events WHERE timestamp >= :window_start AND timestamp < :window_end
    sinks: [out]
`,
    `${dir}/litejoin.yaml`,
  );
  const writer = await Writer.open({
    dataDir: dir,
    shardCount: 2,
    topics: config.topicNames,
    flushIntervalMs: 1,
    batchSize: 100,
    maxBacklog: 1000,
  });
  const readers = await Readers.open(
    { dataDir: dir, shardCount: 2, topics: config.topicNames, busyTimeoutMs: 1000 },
    1,
  );
  const write = (id: string, when: unknown) =>
    writer.write([{ topic: "events", key: id, payload: { at: { when } }, timestamp: T0 }]);
  try {
    // Closed through T0 + 31 s: with grace 1 s and size 10 s, windows from T0 + 20 s may be open.
    const iso = (ms: number) => new Date(T0 + ms).toISOString();
    await write("old", T0 + 19_999);
    await write("old-iso", iso(5_000));
    await write("edge", T0 + 20_000);
    await write("open", T0 + 25_500.5);
    await write("open-iso", iso(29_000));
    await write("no-time", "soon");
    const saved = { closed: T0 + 31_000, seqs: writer.seqs(), starts: new Map() };
    await write("late", T0 + 1_000);
    const task: WindowTask = {
      config: config.windows[0],
      topic: "events",
      parameters: [],
      sinks: [],
    };
    const events = await scanTopic(task, readers, saved);
    const got = events.map((e) => [e.time - T0, e.message?.key ?? null]).sort((a, b) =>
      (a[0] as number) - (b[0] as number)
    );
    assert.deepEqual(got, [[1_000, "late"], [20_000, null], [25_500, null], [29_000, null]]);
  } finally {
    readers.close();
    await writer.close();
    await Deno.remove(dir, { recursive: true });
  }
});
