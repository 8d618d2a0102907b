import assert from "node:assert/strict";
import { Writer } from "../store/writer.ts";
import { noProgress } from "../progress.ts";
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

Deno.test("rows written between export and delete stay hot, even with a timestamp inside the partition", async () => {
  const bench = await openBench();
  try {
    await bench.write(Array.from({ length: 50 }, (_, i) => order(`o${i}`, T0 + i)));
    const before = await bench.versions("orders");
    // The first delete request finds, since the export: o7 rewritten now, o8 rewritten
    // with a timestamp inside the partition being moved, and a new late row there too.
    let raced = false;
    const racing = new Proxy(bench.writer, {
      get(target, name) {
        if (name !== "evictExported") {
          return Reflect.get(target, name).bind?.(target) ?? Reflect.get(target, name);
        }
        return async (...args: Parameters<Writer["evictExported"]>) => {
          if (!raced) {
            raced = true;
            await target.write([
              order("o7", T0 + 5 * HOUR, { v: 2 }),
              order("o8", T0 + 30, { v: 2 }),
              order("late", T0 + 40),
            ]);
          }
          return target.evictExported(...args);
        };
      },
    });
    const [file] = await bench.compactor(racing).compact("orders", T0 + 2 * HOUR, noProgress);
    assert.equal(file.moved, 50);
    const after = await bench.versions("orders");
    const hot = after.filter((v) => v.startsWith("hot ")).map((v) => v.split(" ")[1]).sort();
    assert.deepEqual(hot, ["late", "o7", "o8"]);
    const seqOf = (list: string[], key: string) =>
      Number(list.find((v) => v.split(" ")[1] === key)!.split(" ")[2]);
    assert.ok(seqOf(after.filter((v) => v.startsWith("hot ")), "o8") > seqOf(before, "o8"));
    assert.deepEqual(
      after.filter((v) => v.startsWith("warm ")).map((v) => v.slice(5)).sort(),
      ids(before),
      "the exported versions are warm, and nothing was lost",
    );
    // the next run moves what arrived meanwhile into the same file
    const [next] = await bench.compactor().compact("orders", T0 + 2 * HOUR, noProgress);
    assert.deepEqual([next.file.path, next.moved, next.fileRows], [file.file.path, 2, 52]);
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
        if (name === "evictExported") return () => Promise.reject(new Error("killed"));
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
        if (name === "evictExported") return () => Promise.reject(new Error("killed"));
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
    // The eviction of a and b from the hot tier took seq 3 (joins hear of it), the delete 4.
    await bench.write([{ ...order("a", T0 + HOUR + 5), _change: { op: "delete" } }]);
    assert.deepEqual(await bench.versions("orders"), [
      "hot-deleted a 4",
      "warm a 1",
      "warm b 2",
    ]);
    await bench.compactor().compact("orders", T0 + 2 * HOUR, noProgress);
    assert.deepEqual(await bench.versions("orders"), ["warm a 1", "warm b 2", "warm-deleted a 4"]);
  } finally {
    await bench.close();
  }
});
