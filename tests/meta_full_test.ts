/**
 * meta.db full (as on a full disk): SQLite's max_page_count makes every write that
 * needs a new page fail with "database or disk is full", the same error a full disk
 * gives. Joins and windows then retry instead of crashing the engine, and catch up
 * once there is room again.
 */
import assert from "node:assert/strict";
import { waitFor, withJoinToHook } from "./_helpers.ts";

Deno.test("a full meta.db fails joins and windows for a while, then every result is delivered", () =>
  withJoinToHook(
    async (t, receiver) => {
      const meta = t.engine.meta.db;
      const post = async (from: number, count: number) => {
        const items = Array.from(
          { length: count },
          (_, i) => ({ id: `m${from + i}`, n: from + i }),
        );
        const response = await t.post("/in", items);
        assert.equal(response.status, 202);
        await response.body?.cancel();
      };
      const delivered = () =>
        new Set(receiver.results().filter((r) => r.name === "copy").map((r) => r.key));
      const windows = () => receiver.results().filter((r) => r.name === "per_second").length;
      await post(0, 10);
      await waitFor("the first results", () => delivered().size === 10);
      const pages = Number(meta.prepare("PRAGMA page_count").get()!.page_count);
      meta.exec(`PRAGMA max_page_count = ${pages}`);
      await post(10, 2000);
      await waitFor(
        "the join to fail on the full meta.db",
        () => t.engine.joiner.health()[0].error.includes("full"),
      );
      const windowsWhileFull = windows();
      meta.exec("PRAGMA max_page_count = 4294967294");
      await waitFor(
        "every result after there is room again",
        () => delivered().size === 2010,
        20_000,
      );
      await post(5000, 1);
      await waitFor("the window to emit again", () => windows() > windowsWhileFull, 20_000);
      assert.equal(t.engine.joiner.health()[0].error, "");
    },
    `
windows:
  - name: per_second
    type: tumbling
    size: 1s
    sql: "SELECT count(*) AS n FROM events WHERE timestamp >= :window_start AND timestamp < :window_end"
    sinks: [hook]
`,
  ));
