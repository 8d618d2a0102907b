import assert from "node:assert/strict";
import { SlidingWindows } from "./sliding.ts";
import { TumblingWindows } from "./tumbling.ts";
import type { Span } from "./window.ts";

const spans = (list: readonly Span[]) => list.map((w) => [w.start, w.end]);

Deno.test("tumbling windows are aligned to the epoch, start inclusive and end exclusive", () => {
  const windows = new TumblingWindows(300_000, 0);
  const t = Date.UTC(2024, 0, 1, 10, 7, 30);
  const start = Date.UTC(2024, 0, 1, 10, 5);
  assert.deepEqual(spans(windows.add(t).windows), [[start, start + 300_000]]);
  assert.deepEqual(spans(windows.add(start).windows), [[start, start + 300_000]]);
  assert.deepEqual(spans(windows.add(start + 299_999).windows), [[start, start + 300_000]]);
  assert.deepEqual(spans(windows.add(start + 300_000).windows), [[
    start + 300_000,
    start + 600_000,
  ]]);
  assert.equal(windows.openCount, 2);
});

Deno.test("tumbling window closes when the frontier reaches end + grace, not before", () => {
  const windows = new TumblingWindows(1000, 250);
  windows.add(100);
  windows.add(1100);
  assert.equal(windows.nextClose(), 1250);
  assert.deepEqual(windows.closeThrough(1249), []);
  assert.deepEqual(spans(windows.closeThrough(1250)), [[0, 1000]]);
  assert.equal(windows.nextClose(), 2250);
  assert.equal(windows.closed, 1250);
  assert.equal(windows.openCount, 1);
});

Deno.test("tumbling window takes events during its grace and calls later ones late", () => {
  const windows = new TumblingWindows(1000, 250);
  windows.add(100);
  windows.closeThrough(1200); // past the end, within grace
  const inGrace = windows.add(999);
  assert.equal(inGrace.late, false);
  assert.deepEqual(spans(inGrace.windows), [[0, 1000]]);
  windows.closeThrough(1250);
  const late = windows.add(999);
  assert.equal(late.late, true);
  assert.deepEqual(late.windows, []);
  assert.equal(windows.openCount, 0, "a late event opens no window");
  assert.equal(windows.add(1000).late, false);
});

Deno.test("sliding window holds each event in size/slide windows aligned to the slide", () => {
  const windows = new SlidingWindows(3000, 1000, 0);
  assert.deepEqual(spans(windows.add(2500).windows), [[2000, 5000], [1000, 4000], [0, 3000]]);
  assert.deepEqual(spans(windows.add(3000).windows), [[3000, 6000], [2000, 5000], [1000, 4000]]);
  assert.equal(windows.openCount, 4);
  assert.deepEqual(spans(windows.closeThrough(4000)), [[0, 3000], [1000, 4000]]);
});

Deno.test("sliding window event that missed a closed window is late but still counts in open ones", () => {
  const windows = new SlidingWindows(3000, 1000, 0);
  windows.add(2500);
  windows.closeThrough(3000);
  const partly = windows.add(2600);
  assert.equal(partly.late, true);
  assert.deepEqual(spans(partly.windows), [[2000, 5000], [1000, 4000]]);
});

Deno.test("sliding window refuses a slide longer than its size", () => {
  assert.throws(() => new SlidingWindows(1000, 2000, 0), RangeError);
});
