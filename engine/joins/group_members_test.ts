import assert from "node:assert/strict";
import { Meta } from "../store/meta.ts";
import { forgetMembers, GroupMembers } from "./group_members.ts";

Deno.test("group members lead from a source key to its groups, keep each group's type, and are forgotten per join", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-members-" });
  let meta = new Meta(`${dir}/meta.db`);
  try {
    const members = new GroupMembers(meta, "per_seller");
    meta.transaction(() =>
      members.apply({
        drop: [],
        add: [[0, "a1", 7], [0, "a2", "7"], [1, "p1", 7], [1, "p1", "7"], [0, "a3", 1.5]],
      })
    );
    new GroupMembers(meta, "other").apply({ drop: [], add: [[0, "a1", "x"]] });
    meta.close();
    meta = new Meta(`${dir}/meta.db`);
    const reopened = new GroupMembers(meta, "per_seller");
    // 7 and "7" are different groups, as in GROUP BY.
    assert.deepEqual(reopened.groupsOf(1, ["p1", "p9"]).sort(), [7, "7"].sort());
    assert.deepEqual(reopened.groupsOf(0, ["a1"]), [7]);
    assert.deepEqual(reopened.members(["7"]), [[0, "a2", "7"], [1, "p1", "7"]]);
    assert.deepEqual(reopened.members([1.5]), [[0, "a3", 1.5]]);
    meta.transaction(() => reopened.apply({ drop: [[1, "p1", 7]], add: [[1, "p2", 7]] }));
    assert.deepEqual(reopened.members([7]), [[0, "a1", 7], [1, "p2", 7]]);
    forgetMembers(meta, "per_seller");
    assert.deepEqual(reopened.groupsOf(0, ["a1", "a2", "a3"]), []);
    assert.deepEqual(new GroupMembers(meta, "other").groupsOf(0, ["a1"]), ["x"]);
  } finally {
    meta.close();
    await Deno.remove(dir, { recursive: true });
  }
});
