import assert from "node:assert/strict";
import { throttled } from "./log.ts";

Deno.test("throttled log: the first at once, then one per interval saying how many were held", () => {
  let now = 0;
  const lines: string[] = [];
  const log = throttled((line) => lines.push(line), 10_000, () => now);
  log("disk full");
  for (now = 1; now < 10_000; now += 1000) log("disk full");
  assert.deepEqual(lines, ["disk full"]);
  now = 10_000;
  log("disk full");
  now = 25_000;
  log("disk full");
  assert.deepEqual(lines, [
    "disk full",
    "disk full (10 more like it held back)",
    "disk full",
  ]);
});
