import assert from "node:assert/strict";
import { DlqStore } from "./store.ts";
import { result } from "./_testing.ts";

async function withStore(fn: (store: DlqStore, path: string) => void | Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-dlq-" });
  const store = new DlqStore(`${dir}/dlq.db`);
  try {
    await fn(store, `${dir}/dlq.db`);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("dlq store keeps one row per failed result with every field", () =>
  withStore((store) => {
    const ids = store.add("hook", [result("a"), result("b")], "POST failed", 100, "retrying", 1100);
    assert.equal(ids.length, 2);
    const entry = store.get(ids[0])!;
    assert.deepEqual(entry, {
      id: ids[0],
      sink: "hook",
      source: "j",
      key: "a",
      payload: result("a"),
      error: "POST failed",
      attempts: 1,
      first_failed_at: 100,
      last_failed_at: 100,
      next_attempt_at: 1100,
      status: "retrying",
      delivered_at: null,
      superseded: false,
    });
  }));

Deno.test("dlq store lets one claimant at a time hold an entry, across connections", () =>
  withStore((store, path) => {
    const other = new DlqStore(path);
    try {
      store.add("hook", [result("a"), result("b"), result("c")], "down", 0, "retrying", 10);
      assert.deepEqual(store.claimDue("hook", 9, 10, "w", 1000), [], "nothing due yet");
      const mine = store.claimDue("hook", 10, 2, "w", 1000);
      assert.deepEqual(mine.map((e) => e.key), ["a", "b"]);
      // The other process sees only what is not leased.
      const theirs = other.claimIds(other.replayable({}), 10, "cli", 1000);
      assert.deepEqual(theirs.map((e) => e.key), ["c"]);
      assert.deepEqual(other.claimDue("hook", 10, 10, "cli", 1000), []);
      // Once the lease runs out (its holder died), the entry can be claimed again.
      assert.deepEqual(other.claimDue("hook", 1009, 10, "cli", 1000), []);
      assert.deepEqual(other.claimDue("hook", 1010, 10, "cli", 1000).map((e) => e.key), [
        "a",
        "b",
        "c",
      ]);
      // ...and the old holder can no longer record an outcome for it.
      store.delivered("hook", mine, 1011, "w");
      assert.equal(store.get(mine[0].id)!.status, "retrying");
    } finally {
      other.close();
    }
  }));

Deno.test("dlq store releases the claims of an owner that is gone, and only those", () =>
  withStore((store) => {
    store.add("hook", [result("a"), result("b"), result("c")], "down", 0, "retrying", 0);
    store.claimIds([1], 0, "engine:41:x", 60_000);
    store.claimIds([2], 0, "engine:42:y", 60_000);
    store.claimIds([3], 0, "cli:7:z", 60_000);
    assert.equal(store.releaseAll("engine:"), 2);
    assert.deepEqual(store.claimIds([1, 2, 3], 1, "engine:43:w", 60_000).map((e) => e.id), [1, 2]);
  }));

Deno.test("dlq store records failures with the caller's schedule and releases the lease", () =>
  withStore((store) => {
    const [id] = store.add("hook", [result("a")], "down", 0, "retrying", 10);
    store.claimDue("hook", 10, 1, "w", 1000);
    store.failed([id], "w", "still down", 20, ({ attempts }) => ({
      status: attempts >= 2 ? "dead" : "retrying",
      next_attempt_at: attempts >= 2 ? null : 99,
    }));
    const entry = store.get(id)!;
    assert.equal(entry.attempts, 2);
    assert.equal(entry.status, "dead");
    assert.equal(entry.error, "still down");
    assert.equal(entry.last_failed_at, 20);
    assert.equal(entry.first_failed_at, 0);
    assert.equal(entry.next_attempt_at, null);
    // A dead entry can be claimed by a replay (the lease was released).
    assert.equal(store.claimIds([id], 21, "cli", 1000).length, 1);
  }));

Deno.test("dlq store supersedes older entries of a key once a newer result is delivered", () =>
  withStore((store) => {
    const [old1, other] = store.add("hook", [result("k"), result("x")], "e", 0, "retrying", 10);
    const [old2] = store.add("hook", [result("k", { v: 2 })], "e", 1, "dead", null);
    const [newer] = store.add("hook", [result("k", { v: 3 })], "e", 2, "retrying", 10);
    const claimed = store.claimIds([newer], 10, "w", 1000);
    store.delivered("hook", claimed, 11, "w");
    for (const id of [old1, old2]) {
      const e = store.get(id)!;
      assert.equal(e.status, "delivered");
      assert.equal(e.superseded, true);
    }
    assert.equal(store.get(newer)!.superseded, false);
    assert.equal(store.get(other)!.status, "retrying", "other keys are untouched");
    // A live delivery supersedes everything queued for its key.
    assert.equal(store.supersede("hook", [{ source: "j", key: "x" }], 12), 1);
    assert.equal(store.get(other)!.status, "delivered");
    // Another sink's entries for the same key are its own business.
    const [elsewhere] = store.add("db", [result("x")], "e", 0, "retrying", 10);
    store.supersede("hook", [{ source: "j", key: "x" }], 13);
    assert.equal(store.get(elsewhere)!.status, "retrying");
  }));

Deno.test("dlq store keeps rejected inputs beside failed deliveries, bytes as base64", () =>
  withStore((store) => {
    const id = store.reject({
      source: "kafka_in",
      reason: "not JSON: unexpected token",
      raw: "{nope",
      detail: { topic: "orders", partition: 0, offset: 41 },
    }, 5);
    const binary = store.reject({
      source: "kafka_in",
      reason: "not JSON",
      raw: new Uint8Array([0xff, 0x00, 0xfe]),
    }, 6);
    assert.deepEqual(store.get(id)!.payload, {
      topic: "orders",
      partition: 0,
      offset: 41,
      raw: "{nope",
    });
    assert.deepEqual(store.get(binary)!.payload, { raw: "/wD+", encoding: "base64" });
    assert.equal(store.get(id)!.status, "rejected");
    assert.equal(store.get(id)!.sink, null);
    assert.deepEqual(store.replayable({}), [], "rejected inputs are never sent");
    store.add("hook", [result("a")], "e", 3, "retrying", 10);
    const stats = store.stats(["hook", "db"]);
    assert.deepEqual(stats, {
      total: 3,
      by_sink: {
        hook: { retrying: 1, dead: 0, delivered: 0, oldest_failed_at: 3 },
        db: { retrying: 0, dead: 0, delivered: 0, oldest_failed_at: null },
      },
      rejected: { kafka_in: 2 },
    });
  }));

Deno.test("dlq store lists, counts, purges and prunes by filter", () =>
  withStore((store) => {
    store.add("hook", [result("a"), result("b")], "e", 0, "retrying", 10);
    store.add("db", [result("c")], "e", 0, "dead", null);
    const [d] = store.add("db", [result("d")], "e", 0, "retrying", 10);
    store.delivered("db", store.claimIds([d], 0, "w", 1000), 50, "w");
    assert.deepEqual(store.list({ sink: "db" }, { limit: 10, offset: 0 }).map((e) => e.key), [
      "c",
      "d",
    ]);
    assert.deepEqual(
      store.list({}, { limit: 2, offset: 1, order: "desc" }).map((e) => e.key),
      ["c", "b"],
    );
    assert.equal(store.count({ status: "retrying" }), 2);
    assert.equal(store.prune(50), 0, "delivered at 50 is not older than 50");
    assert.equal(store.prune(51), 1);
    assert.equal(store.purge({ sink: "hook", status: "retrying" }), 2);
    assert.deepEqual(store.list({}, { limit: 10, offset: 0 }).map((e) => e.key), ["c"]);
  }));

Deno.test("dlq store refuses a dlq.db from a newer format with one line", async () => {
  const dir = await Deno.makeTempDir();
  new DlqStore(`${dir}/dlq.db`).close();
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(`${dir}/dlq.db`);
  db.exec("PRAGMA user_version = 99");
  db.close();
  assert.throws(
    () => new DlqStore(`${dir}/dlq.db`),
    /dlq\.db was written by a newer litejoin \(DLQ format 99\); use that version/,
  );
});
