import assert from "node:assert/strict";
import { Readers } from "./readers.ts";
import { Writer } from "./writer.ts";

/** A statement that keeps a reader thread busy for a while (a long recursive count). */
const LONG = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) " +
  "SELECT count(*) AS n FROM c";

Deno.test("queries made at once run on different reader threads: a short one need not wait for a long one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-readers-" });
  const writer = await Writer.open({
    dataDir: dir,
    shardCount: 1,
    topics: ["orders"],
    flushIntervalMs: 1,
    batchSize: 10,
    maxBacklog: 100,
  });
  const order = async (size: number) => {
    const readers = await Readers.open(
      { dataDir: dir, shardCount: 1, topics: ["orders"], busyTimeoutMs: 5000 },
      size,
    );
    const done: string[] = [];
    await Promise.all([
      readers.all(LONG).then(() => done.push("long")),
      readers.all("SELECT count(*) AS n FROM orders").then(() => done.push("short")),
    ]);
    readers.close();
    return done;
  };
  try {
    // One thread takes them in turn; two take them side by side.
    assert.deepEqual(await order(1), ["long", "short"]);
    assert.deepEqual(await order(2), ["short", "long"]);
  } finally {
    await writer.close();
    await Deno.remove(dir, { recursive: true });
  }
});
