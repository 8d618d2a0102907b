import assert from "node:assert/strict";
import { age, bytes, count, fit, millis, sparkline, uptime } from "./format.ts";

Deno.test("figures are short: counts, bytes, milliseconds, ages, uptimes", () => {
  assert.deepEqual([0, 12.34, 999, 1234, 56_789, 1_500_000, 25_000_000].map(count), [
    "0",
    "12.3",
    "999",
    "1.2k",
    "57k",
    "1.5M",
    "25M",
  ]);
  assert.deepEqual([null, 512, 4096, 12 * 1024 * 1024, 1.5 * 1024 ** 3].map(bytes), [
    "…",
    "512 B",
    "4.0 KB",
    "12 MB",
    "1.5 GB",
  ]);
  assert.deepEqual([0, 0.25, 12.4, 2500].map(millis), ["-", "0.3ms", "12ms", "2.5s"]);
  assert.deepEqual([5_000, 300_000, 7_200_000, 200_000_000].map(age), ["5s", "5m", "2h", "2d"]);
  assert.deepEqual([42, 3723, 90_000].map(uptime), ["42s", "1h 2m", "1d 1h"]);
});

Deno.test("fit cuts with an ellipsis or pads to the exact width, on one line", () => {
  assert.equal(fit("orders", 10), "orders    ");
  assert.equal(fit("orders", 10, "right"), "    orders");
  assert.equal(fit("enriched_orders", 8), "enriche…");
  assert.equal(fit("a\nb", 5), "a b  ");
  assert.equal(fit("x", 0), "");
});

Deno.test("sparkline scales to the maximum shown and keeps the newest values", () => {
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8), "▁▂▃▄▅▆▇█");
  assert.equal(sparkline([100, 0, 7], 2), "▁█");
  assert.equal(sparkline([3], 4), "   █");
  assert.equal(sparkline([0, 0], 2), "▁▁");
});
