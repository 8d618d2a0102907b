import assert from "node:assert/strict";
import { Meta } from "../store/meta.ts";
import { ApiState } from "./_api_state.ts";

Deno.test("a key expected before its write stays known after a crash, so a later poll can delete it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-api-state-" });
  try {
    let meta = new Meta(`${dir}/meta.db`);
    new ApiState(meta, "src").expect(["a", "b"]);
    // The crash: the write of a and b committed, their state never did.
    meta.close();
    meta = new Meta(`${dir}/meta.db`);
    const state = new ApiState(meta, "src");
    assert.deepEqual([...state.keys()].sort(), ["a", "b"]);
    // Known with a hash no item has: present again, it is an update; absent, a delete.
    assert.ok(state.get("a")!.hash < 0);
    state.commit([["a", { hash: 7, json: '{"id":"a"}' }], ["b", null]], undefined);
    assert.deepEqual(state.get("a"), { hash: 7, json: '{"id":"a"}' });
    assert.deepEqual([...state.keys()], ["a"]);
    // Expecting a key already known leaves its state alone.
    state.expect(["a"]);
    assert.equal(state.get("a")!.hash, 7);
    meta.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
