import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startS3 } from "../../tests/_s3.ts";
import { S3Client } from "@aws-sdk/client-s3";
import { createLogger, silentLogger } from "../log.ts";
import type { ColdStore } from "./cold.ts";
import { describeFile, S3ColdStore } from "./cold.ts";
import { COLD_CATALOG } from "./compactor.ts";
import { noProgress } from "../progress.ts";
import { Uploader } from "./uploader.ts";
import { HOUR, openBench, order, T0 } from "./_testing.ts";

const DAY = 24 * HOUR;

async function setUp(bucket: string, partSize?: number) {
  const s3 = await startS3();
  await s3.createBucket(bucket);
  const bench = await openBench();
  const store = s3.store(bucket, "tiers", partSize);
  let now = T0;
  const uploader = (cold: ColdStore = store) =>
    new Uploader({
      warmDir: bench.warmDir,
      store: cold,
      meta: bench.meta,
      con: bench.duck.con,
      clock: { now: () => now },
      log: silentLogger,
      retentionOf: () => HOUR,
      warmRetention: DAY,
    });
  return {
    s3,
    bench,
    store,
    uploader,
    setNow: (t: number) => now = t,
    async close() {
      store.close();
      await bench.close();
      await s3.stop();
    },
  };
}

Deno.test("warm files past warm_retention go cold: uploaded, verified, recorded, removed locally", async () => {
  const t = await setUp("lj-upload");
  try {
    await t.bench.write(Array.from({ length: 300 }, (_, i) => order(`o${i}`, T0 + i * 60_000)));
    await t.bench.compactor().compact("orders", T0 + 6 * HOUR, noProgress); // hours 0..4
    const local = (name: string) => `${t.bench.warmDir}/orders/orders-${name}-1h.parquet`;
    const first = await describeFile(local("20260101T000000Z"), 60);
    // hour 0 left the hot tier at 2h (end + retention); it is due a day later
    t.setNow(T0 + 2 * HOUR + DAY);
    const uploaded = await t.uploader().run(noProgress);
    assert.deepEqual(uploaded.map((u) => [u.file.path, u.rows, u.sent]), [
      ["orders/orders-20260101T000000Z-1h.parquet", 60, true],
    ]);
    assert.deepEqual(await t.store.head("orders/orders-20260101T000000Z-1h.parquet"), {
      size: first.size,
      sha256: first.sha256,
      rows: 60,
    });
    assert.deepEqual(JSON.parse(t.bench.meta.get(COLD_CATALOG, uploaded[0].file.path)!), {
      size: first.size,
      sha256: first.sha256,
      rows: 60,
    });
    await assert.rejects(Deno.stat(local("20260101T000000Z")), Deno.errors.NotFound);
    await Deno.stat(local("20260101T010000Z")); // not due yet
    const back = `${t.bench.dir}/back.parquet`;
    await t.store.get("orders/orders-20260101T000000Z-1h.parquet", back, first.size);
    assert.equal((await describeFile(back, 0)).sha256, first.sha256);
    assert.deepEqual(await t.store.list("orders"), [
      { path: "orders/orders-20260101T000000Z-1h.parquet", size: first.size },
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("a file larger than the part size is uploaded in parts and arrives whole", async () => {
  const t = await setUp("lj-multipart", 5 * 1024 * 1024);
  try {
    const noise = (i: number) =>
      createHash("sha512").update(String(i)).digest("base64") +
      createHash("sha512").update(`x${i}`).digest("base64");
    await t.bench.write(
      Array.from({ length: 40_000 }, (_, i) => order(`o${i}`, T0 + i, { noise: noise(i) })),
    );
    const [file] = await t.bench.compactor().compact("orders", T0 + HOUR, noProgress);
    const info = await describeFile(`${t.bench.warmDir}/${file.file.path}`, 40_000);
    assert.ok(info.size > 5 * 1024 * 1024, `a ${info.size}-byte file`);
    const parts: number[] = [];
    await t.store.put(
      file.file.path,
      `${t.bench.warmDir}/${file.file.path}`,
      info,
      (b) => parts.push(b),
    );
    assert.ok(parts.length >= 2, `${parts.length} part(s)`);
    assert.equal(parts.reduce((a, b) => a + b, 0), info.size);
    assert.deepEqual(await t.store.head(file.file.path), {
      size: info.size,
      sha256: info.sha256,
      rows: 40_000,
    });
    const back = `${t.bench.dir}/back.parquet`;
    await t.store.get(file.file.path, back, info.size);
    assert.equal((await describeFile(back, 0)).sha256, info.sha256);
  } finally {
    await t.close();
  }
});

Deno.test("after a crash once the object landed, the next run finishes without sending again; a different object is replaced", async () => {
  const t = await setUp("lj-retry");
  try {
    await t.bench.write(Array.from({ length: 20 }, (_, i) => order(`o${i}`, T0 + i)));
    await t.bench.write(Array.from({ length: 20 }, (_, i) => order(`p${i}`, T0 + HOUR + i)));
    const files = await t.bench.compactor().compact("orders", T0 + 2 * HOUR, noProgress);
    const [a, b] = files.map((f) => f.file.path);
    const info = await describeFile(`${t.bench.warmDir}/${a}`, 20);
    await t.store.put(a, `${t.bench.warmDir}/${a}`, info); // the crashed run got this far
    const other = `${t.bench.dir}/other.bin`;
    await Deno.writeTextFile(other, "not the file");
    await t.store.put(b, other, await describeFile(other, 0)); // an older, different object
    t.setNow(T0 + 4 * HOUR + DAY);
    const done = await t.uploader().run(noProgress);
    assert.deepEqual(done.map((u) => [u.file.path, u.sent]), [[a, false], [b, true]]);
    assert.equal((await t.store.head(b))?.rows, 20);
    assert.deepEqual([...Deno.readDirSync(`${t.bench.warmDir}/orders`)], []);
  } finally {
    await t.close();
  }
});

Deno.test("a file whose upload cannot be verified stays warm and is not recorded cold", async () => {
  const t = await setUp("lj-verify");
  try {
    await t.bench.write([order("o1", T0)]);
    const [file] = await t.bench.compactor().compact("orders", T0 + HOUR, noProgress);
    const lying: ColdStore = {
      url: t.store.url,
      head: async (path) => {
        const info = await t.store.head(path);
        return info && { ...info, sha256: "0".repeat(64) };
      },
      put: (...args) => t.store.put(...args),
      list: (dir) => t.store.list(dir),
      get: (...args) => t.store.get(...args),
      close: () => {},
    };
    t.setNow(T0 + 3 * HOUR + DAY);
    assert.deepEqual(await t.uploader(lying).run(noProgress), []);
    await Deno.stat(`${t.bench.warmDir}/${file.file.path}`);
    assert.equal(t.bench.meta.get(COLD_CATALOG, file.file.path), undefined);
  } finally {
    await t.close();
  }
});

Deno.test("with the store unreachable, files stay warm and one line says why", async () => {
  const bench = await openBench();
  const lines: string[] = [];
  const down = new S3ColdStore(
    new S3Client({
      endpoint: "http://127.0.0.1:9",
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
      maxAttempts: 1,
    }),
    "s3://lj-down/tiers",
    16 * 1024 * 1024,
  );
  try {
    await bench.write(Array.from({ length: 30 }, (_, i) => order(`o${i}`, T0 + i * 3 * 60_000)));
    const files = await bench.compactor().compact("orders", T0 + 3 * HOUR, noProgress);
    assert.equal(files.length, 2);
    const uploader = new Uploader({
      warmDir: bench.warmDir,
      store: down,
      meta: bench.meta,
      con: bench.duck.con,
      clock: { now: () => T0 + 4 * HOUR + DAY },
      log: createLogger({ write: (l) => lines.push(l) }),
      retentionOf: () => HOUR,
      warmRetention: DAY,
    });
    assert.deepEqual(await uploader.run(noProgress), []);
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], /stays warm: s3:\/\/lj-down\/tiers: head orders\/.*connection refused/);
    for (const f of files) await Deno.stat(`${bench.warmDir}/${f.file.path}`);
  } finally {
    down.close();
    await bench.close();
  }
});
