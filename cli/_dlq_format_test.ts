import assert from "node:assert/strict";
import { ago, formatList } from "./_dlq_format.ts";

Deno.test("dlq times read as the nearest whole unit, promoted when they round up", () => {
  const now = 1e12;
  const cases: [number, string][] = [
    [0, "0s ago"],
    [59_400, "59s ago"],
    [59_600, "1m ago"],
    [3_599_000, "1h ago"],
    [5_400_000, "2h ago"],
    [23.6 * 3_600_000, "1d ago"],
    [3 * 86_400_000, "3d ago"],
  ];
  for (const [before, text] of cases) assert.equal(ago(now - before, now), text, String(before));
  assert.equal(ago(now + 90_000, now), "in 2m");
  assert.equal(ago(null, now), "-");
});

Deno.test("dlq list marks superseded entries and keeps each entry on one line", () => {
  const text = formatList([{
    id: 7,
    sink: "hook",
    source: "j",
    key: "k\nwith newline",
    payload: {},
    error: "line one\nline two",
    attempts: 2,
    first_failed_at: 0,
    last_failed_at: 0,
    next_attempt_at: null,
    status: "delivered",
    delivered_at: 1,
    superseded: true,
  }], 60_000);
  const lines = text.split("\n");
  assert.equal(lines.length, 3);
  assert.match(
    lines[1],
    /^7\s+delivered\*\s+hook\s+j\s+k with newline\s+2\s+1m ago\s+-\s+line one line two$/,
  );
  assert.equal(lines[2], "* superseded by a newer result for its key");
});
