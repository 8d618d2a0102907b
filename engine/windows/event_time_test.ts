import assert from "node:assert/strict";
import { eventTime, parseTime } from "./event_time.ts";

Deno.test("event time is the message timestamp unless a payload field is named", () => {
  const message = { topic: "t", key: "k", payload: { at: { ms: 1500 } }, timestamp: 99 };
  assert.equal(eventTime(message, undefined), 99);
  assert.equal(eventTime(message, "at.ms"), 1500);
  assert.equal(eventTime(message, "missing"), undefined);
});

Deno.test("event time reads epoch milliseconds and ISO-8601, zone-less as UTC", () => {
  assert.equal(parseTime(1_700_000_000_123), 1_700_000_000_123);
  assert.equal(parseTime(1.9), 1);
  assert.equal(parseTime("2024-01-01T00:00:01.5Z"), Date.UTC(2024, 0, 1, 0, 0, 1, 500));
  assert.equal(parseTime("2024-01-01T00:00:01"), Date.UTC(2024, 0, 1, 0, 0, 1));
  assert.equal(parseTime("2024-01-01 02:00"), Date.UTC(2024, 0, 1, 2, 0));
  assert.equal(parseTime("2024-01-01T02:00:00+02:00"), Date.UTC(2024, 0, 1, 0, 0));
  assert.equal(parseTime("2024-01-01T02:00:00+0200"), Date.UTC(2024, 0, 1, 0, 0));
  assert.equal(parseTime("2024-01-01"), Date.UTC(2024, 0, 1));
});

Deno.test("event time is undefined for values that hold no time", () => {
  for (
    const value of ["", "soon", "1700000000000", "2024-13-45T99:00Z", NaN, Infinity, null, {}, true]
  ) {
    assert.equal(parseTime(value), undefined, String(value));
  }
});
