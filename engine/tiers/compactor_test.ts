import assert from "node:assert/strict";
import { Writer } from "../store/writer.ts";
import { noProgress } from "./progress.ts";
import { COLD_CATALOG, JOURNAL } from "./compactor.ts";
import { HOUR, ids, openBench, order, T0 } from "./_testing.ts";

Deno.test("compaction moves exactly the partitions that have wholly expired, one file each", async () => {
  const bench = await openBench();
  try {
    // 100 rows in each of four hours
    await bench.write(
      Array.from({ length: 400 }, (_, i) => order(`o${i}`, T0 + Math.floor(i / 100) * HOUR + i)),
    );
    const before = await bench.versions("orders");
    // rows older than T0+2.5h have expired; hour 2 has not wholly expired, so it stays hot
    const files = await bench.compactor().compact("orders", T0 + 2.5 * HOUR, noProgress);
    assert.deepEqual(files.map((f) => [f.file.path, f.moved, f.fileRows]), [
      ["orders/orders-20260101T000000Z-1h.parquet", 100, 100],
      ["orders/orders-20260101T010000Z-1h.parquet", 100, 100],
    ]);
    const after = await bench.versions("orders");
    assert.equal(after.filter((v) => v.startsWith("hot ")).length, 200);
    assert.equal(after.filter((v) => v.startsWith("warm ")).length, 200);
    assert.deepEqual(ids(after), ids(before), "every version in exactly one tier");
    assert.deepEqual(bench.meta.entries(JOURNAL), []);
    const leftovers = [...Deno.readDirSync(`${bench.warmDir}/orders`)].filter((e) =>
      e.name.startsWith(".")
    );
    assert.deepEqual(leftovers, []);
  } finally {
    await bench.close();
  }
});

Deno.test("a key written again between export and delete keeps its new version hot", async () => {
  const bench = await openBench();
  try {
    await bench.write(Array.from({ length: 50 }, (_, i) => order(`o${i}`, T0 + i)));
    const before = await bench.versions("orders");
    // The first delete request finds o7 rewritten (new _seq, new timestamp) since the export.
    let raced = false;
    const racing = new Proxy(bench.writer, {
      get(target, name) {
        if (name !== "evict") {
          return Reflect.get(target, name).bind?.(target) ?? Reflect.get(target, name);
        }
        return async (...args: Parameters<Writer["evict"]>) => {
          if (!raced) {
            raced = true;
            await target.write([order("o7", T0 + 5 * HOUR, { v: 2 })]);
          }
          return target.evict(...args);
        };
      },
    });
    const [file] = await bench.compactor(racing).compact("orders", T0 + 2 * HOUR, noProgress);
    assert.equal(file.moved, 50);
    const after = await bench.versions("orders");
    const hot = after.filter((v) => v.startsWith("hot "));
    assert.equal(hot.length, 1);
    const exported = before.find((v) => v.startsWith("hot o7 "))!;
    assert.match(hot[0], /^hot o7 \d+$/);
    assert.ok(Number(hot[0].split(" ")[2]) > Number(exported.split(" ")[2]), "a newer _seq");
    assert.deepEqual(
      after.filter((v) => v.startsWith("warm ")).map((v) => v.slice(5)).sort(),
      ids(before),
      "the exported version of o7 is warm, and nothing was lost",
    );
  } finally {
    await bench.close();
  }
});

Deno.test("after a crash between writing the file and deleting, recovery removes the hot copies", async () => {
  const bench = await openBench();
  try {
    await bench.write(Array.from({ length: 300 }, (_, i) => order(`o${i}`, T0 + i)));
    const before = await bench.versions("orders");
    const crashing = new Proxy(bench.writer, {
      get(target, name) {
        if (name === "evict") return () => Promise.reject(new Error("killed"));
        return Reflect.get(target, name).bind?.(target) ?? Reflect.get(target, name);
      },
    });
    await assert.rejects(bench.compactor(crashing).compact("orders", T0 + HOUR, noProgress));
    const torn = await bench.versions("orders");
    assert.equal(torn.length, 600, "every row is hot and warm until recovery");
    assert.equal(bench.meta.entries(JOURNAL).length, 1);

    const compactor = bench.compactor();
    assert.equal(await compactor.recover(), 300);
    const after = await bench.versions("orders");
    assert.deepEqual(after.map((v) => v.split(" ")[0]), Array(300).fill("warm"));
    assert.deepEqual(ids(after), ids(before));
    assert.deepEqual(bench.meta.entries(JOURNAL), []);
    assert.deepEqual(await compactor.compact("orders", T0 + HOUR, noProgress), []);
  } finally {
    await bench.close();
  }
});

Deno.test("rerunning a compaction whose deletes never happened stores no version twice", async () => {
  const bench = await openBench();
  try {
    await bench.write(Array.from({ length: 100 }, (_, i) => order(`o${i}`, T0 + i)));
    const crashing = new Proxy(bench.writer, {
      get(target, name) {
        if (name === "evict") return () => Promise.reject(new Error("killed"));
        return Reflect.get(target, name).bind?.(target) ?? Reflect.get(target, name);
      },
    });
    await assert.rejects(bench.compactor(crashing).compact("orders", T0 + HOUR, noProgress));
    // no recovery: the same partition is compacted again into the same file
    const [again] = await bench.compactor().compact("orders", T0 + HOUR, noProgress);
    assert.deepEqual([again.moved, again.fileRows], [100, 100]);
    assert.equal((await bench.versions("orders")).length, 100);
  } finally {
    await bench.close();
  }
});

Deno.test("late rows join their partition's file; a partition gone cold gets the next generation", async () => {
  const bench = await openBench();
  try {
    await bench.write(Array.from({ length: 10 }, (_, i) => order(`o${i}`, T0 + i)));
    const compactor = bench.compactor();
    await compactor.compact("orders", T0 + HOUR, noProgress);
    await bench.write([order("late1", T0 + 100)]);
    const [merged] = await compactor.compact("orders", T0 + HOUR, noProgress);
    assert.deepEqual([merged.file.path, merged.moved, merged.fileRows], [
      "orders/orders-20260101T000000Z-1h.parquet",
      1,
      11,
    ]);
    bench.meta.set(COLD_CATALOG, merged.file.path, "{}");
    await bench.write([order("late2", T0 + 200)]);
    const [next] = await compactor.compact("orders", T0 + HOUR, noProgress);
    assert.deepEqual([next.file.path, next.moved, next.fileRows], [
      "orders/orders-20260101T000000Z-1h.1.parquet",
      1,
      1,
    ]);
  } finally {
    await bench.close();
  }
});

Deno.test("a delete leaves a tombstone that moves down with its partition", async () => {
  const bench = await openBench(1);
  try {
    await bench.write([order("a", T0), order("b", T0 + 1)]);
    await bench.compactor().compact("orders", T0 + HOUR, noProgress);
    await bench.write([{ ...order("a", T0 + HOUR + 5), _change: { op: "delete" } }]);
    assert.deepEqual(await bench.versions("orders"), [
      "hot-deleted a 3",
      "warm a 1",
      "warm b 2",
    ]);
    await bench.compactor().compact("orders", T0 + 2 * HOUR, noProgress);
    assert.deepEqual(await bench.versions("orders"), ["warm a 1", "warm b 2", "warm-deleted a 3"]);
  } finally {
    await bench.close();
  }
});
