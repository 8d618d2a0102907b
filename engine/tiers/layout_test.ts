import assert from "node:assert/strict";
import {
  formatDuration,
  isTemp,
  parseTierPath,
  partitionStart,
  tempPath,
  tierFile,
} from "./layout.ts";

const HOUR = 3_600_000;

Deno.test("a tier file is named by topic, partition start and width, and parses back", () => {
  const start = Date.UTC(2026, 10, 21, 13);
  const file = tierFile("orders", start, HOUR);
  assert.equal(file.path, "orders/orders-20261121T130000Z-1h.parquet");
  assert.deepEqual(parseTierPath(file.path), file);
  const later = tierFile("orders", start, 90 * 60_000, 2);
  assert.equal(later.path, "orders/orders-20261121T130000Z-1h30m.2.parquet");
  assert.deepEqual(parseTierPath(later.path), later);
  const odd = tierFile("t_1", Date.UTC(2026, 0, 1, 0, 0, 1, 500), 1500);
  assert.equal(odd.path, "t_1/t_1-20260101T000001.500Z-1s500ms.parquet");
  assert.deepEqual(parseTierPath(odd.path), odd);
});

Deno.test("anything else in a tier directory is not a tier file", () => {
  for (
    const path of [
      "orders/.orders-20261121T130000Z-1h.parquet.parquet.tmp",
      "orders/customers-20261121T130000Z-1h.parquet",
      "orders/orders-20261121T130000Z-1h.csv",
      "orders/orders-2026-1h.parquet",
      "orders/orders-20261121T130000Z-1h.0.parquet", // generation 0 has no suffix
    ]
  ) assert.equal(parseTierPath(path), undefined, path);
});

Deno.test("partitions are aligned to the epoch, so hours and days start on UTC boundaries", () => {
  const t = Date.UTC(2026, 10, 21, 13, 42, 7);
  assert.equal(partitionStart(t, HOUR), Date.UTC(2026, 10, 21, 13));
  assert.equal(partitionStart(t, 24 * HOUR), Date.UTC(2026, 10, 21));
  assert.equal(partitionStart(Date.UTC(2026, 10, 21, 13), HOUR), Date.UTC(2026, 10, 21, 13));
});

Deno.test("durations format as the shortest text that reads back", () => {
  assert.equal(formatDuration(7 * 86_400_000), "7d");
  assert.equal(formatDuration(HOUR + 60_000), "1h1m");
  assert.equal(formatDuration(250), "250ms");
});

Deno.test("temporary files are hidden beside their final name", () => {
  const tmp = tempPath("/w/orders/orders-20261121T130000Z-1h.parquet", "ndjson");
  assert.equal(tmp, "/w/orders/.orders-20261121T130000Z-1h.parquet.ndjson.tmp");
  assert.ok(isTemp(tmp.split("/").pop()!));
  assert.ok(!isTemp("orders-20261121T130000Z-1h.parquet"));
});
