import assert from "node:assert/strict";
import { renderBar, StatusLine, TerminalProgress } from "./progress.ts";

Deno.test("a progress bar shows label, bar, percent, amount and time within the width", () => {
  const line = renderBar("compact orders", 520_000, 1_000_000, "rows", 3200, 80);
  assert.equal(
    line,
    "compact orders [################--------------]  52%  520k/1.0M rows  3s",
  );
  const narrow = renderBar(
    "upload to s3://a-very-long-bucket-name/prefix",
    5 << 20,
    10 << 20,
    "bytes",
    0,
    40,
  );
  assert.ok(narrow.length <= 39, narrow);
  assert.ok(narrow.endsWith("50%  5.0MiB/10.0MiB  0s"), narrow);
});

Deno.test("log lines scroll above the status line, which is redrawn below them", () => {
  const out: string[] = [];
  const status = new StatusLine((t) => out.push(t));
  status.log("first");
  status.set("bar 10%");
  status.log("second");
  status.clear();
  assert.deepEqual(out, ["first\n", "\r\x1b[Kbar 10%", "\r\x1b[Ksecond\nbar 10%", "\r\x1b[K"]);
});

Deno.test("a task draws only after a second, at most ten times a second, and clears when done", () => {
  const out: string[] = [];
  let now = 0;
  const progress = new TerminalProgress(new StatusLine((t) => out.push(t)), { now: () => now });
  const task = progress.start("compact orders", 100, "rows");
  task.advance(10);
  now = 500;
  task.advance(10);
  assert.equal(out.length, 0, "nothing for a short task");
  now = 1000;
  task.advance(10);
  now = 1050;
  task.advance(10);
  now = 1200;
  task.advance(10);
  assert.equal(out.length, 2);
  assert.ok(out[1].endsWith(" 50%  50/100 rows  1s"), out[1]);
  task.done();
  assert.equal(out.at(-1), "\r\x1b[K");
});

Deno.test("renderBar drops its note before its label when the terminal is narrow", () => {
  const wide = renderBar("replaying", 3, 3, "entries", 0, 100, "3 delivered, 0 failed");
  assert.match(wide, /^replaying \[#+\] 100% {2}3\/3 entries {2}0s {2}3 delivered, 0 failed$/);
  const narrow = renderBar("replaying", 3, 3, "entries", 0, 50, "3 delivered, 0 failed");
  assert.match(narrow, /^replaying \[#+\] 100% {2}3\/3 entries {2}0s$/);
  assert.ok(narrow.length <= 49);
});
