import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Meta } from "../store/meta.ts";
import { EmittedState } from "./emitted.ts";

Deno.test("emitted hashes, provenance and progress survive a reopen, and lead from sources to results", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-emitted-" });
  try {
    let meta = new Meta(`${dir}/meta.db`);
    let emitted = new EmittedState(meta, "j");
    emitted.commit(new Map([["r1", 11], ["r2", 22]]), [5, 6], {
      changes: new Map([
        ["r1", { before: null, after: ["o1", "c1"] }],
        ["r2", { before: null, after: ["o2", null] }],
      ]),
      plan: "p1",
    });
    meta.close();
    meta = new Meta(`${dir}/meta.db`);
    emitted = new EmittedState(meta, "j");
    assert.deepEqual(emitted.progress(2), [5, 6]);
    assert.equal(emitted.plan(), "p1");
    assert.deepEqual(emitted.lookup(["r1", "r3"]), new Map([["r1", 11]]));
    assert.deepEqual(
      emitted.entries(["r1", "r2"]),
      new Map([["r1", { hash: 11, sources: ["o1", "c1"] }], ["r2", {
        hash: 22,
        sources: ["o2", null],
      }]]),
    );
    assert.deepEqual(
      emitted.resultsFrom(1, ["c1", "c9"]),
      new Map([["r1", { hash: 11, sources: ["o1", "c1"] }]]),
    );
    assert.deepEqual([...emitted.resultsFrom(0, ["o2"]).keys()], ["r2"]);

    // r1 moves to customer c2 (row unchanged); r2 is deleted.
    emitted.commit(new Map([["r2", null]]), [7, 7], {
      changes: new Map([
        ["r1", { before: ["o1", "c1"], after: ["o1", "c2"] }],
        ["r2", { before: ["o2", null], after: null }],
      ]),
    });
    assert.deepEqual([...emitted.resultsFrom(1, ["c1"]).keys()], []);
    assert.deepEqual([...emitted.resultsFrom(1, ["c2"]).keys()], ["r1"]);
    assert.deepEqual([...emitted.resultsFrom(0, ["o2"]).keys()], []);
    assert.deepEqual(emitted.load(), new Map([["r1", 11]]));
    assert.deepEqual(emitted.loadEntries().get("r1"), { hash: 11, sources: ["o1", "c2"] });

    // Another join's state is its own.
    assert.deepEqual(new EmittedState(meta, "other").load(), new Map());
    emitted.resetProvenance();
    assert.equal(emitted.plan(), undefined);
    assert.deepEqual([...emitted.resultsFrom(1, ["c2"]).keys()], []);
    assert.deepEqual(emitted.entries(["r1"]).get("r1"), { hash: 11, sources: null });
    meta.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("emitted state written before provenance existed is read and extended in place", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-emitted-" });
  try {
    const old = new DatabaseSync(`${dir}/meta.db`);
    old.exec(`CREATE TABLE join_rows (join_name TEXT NOT NULL, key TEXT NOT NULL,
      hash INTEGER NOT NULL, PRIMARY KEY (join_name, key)) WITHOUT ROWID;
      INSERT INTO join_rows VALUES ('j', 'r1', 42);`);
    old.close();
    const meta = new Meta(`${dir}/meta.db`);
    const emitted = new EmittedState(meta, "j");
    assert.deepEqual(emitted.load(), new Map([["r1", 42]]));
    assert.deepEqual(emitted.entries(["r1"]).get("r1"), { hash: 42, sources: null });
    meta.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
