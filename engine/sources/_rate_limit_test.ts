import assert from "node:assert/strict";
import { TokenBucket } from "./_rate_limit.ts";

const fakeClock = (start = 1_000) => {
  const clock = { t: start, now: () => clock.t };
  return clock;
};

Deno.test("token bucket lets a burst through, then spaces requests at the rate", () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(4, 2, clock);
  assert.deepEqual([bucket.reserve(), bucket.reserve()], [0, 0]);
  // Empty: reservations queue 250 ms apart.
  assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [250, 500, 750]);
});

Deno.test("token bucket refills with time and never holds more than the burst", () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(10, 3, clock);
  for (let i = 0; i < 3; i++) assert.equal(bucket.reserve(), 0);
  clock.t += 100;
  assert.equal(bucket.reserve(), 0);
  assert.equal(bucket.reserve(), 100);
  clock.t += 60_000; // a long idle time refills to the burst, not beyond
  assert.deepEqual([0, 0, 0].map(() => bucket.reserve()), [0, 0, 0]);
  assert.ok(Math.abs(bucket.reserve() - 100) < 1e-9);
});

Deno.test("token bucket keeps the rate for callers that wait out their reservation", () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(5, 1, clock);
  const starts: number[] = [];
  for (let i = 0; i < 20; i++) {
    clock.t += bucket.reserve();
    starts.push(clock.t);
  }
  // Any window of T ms holds at most 1 + 5·T/1000 starts.
  for (let i = 0; i < starts.length; i++) {
    for (let j = i + 1; j < starts.length; j++) {
      assert.ok(j - i + 1 <= 1 + (5 * (starts[j] - starts[i])) / 1000, `starts ${i}..${j}`);
    }
  }
  assert.equal(starts.at(-1)! - starts[0], 19 * 200);
});

Deno.test("token bucket refuses a rate of 0 or a burst below 1", () => {
  assert.throws(() => new TokenBucket(0, 1, fakeClock()), RangeError);
  assert.throws(() => new TokenBucket(1, 0, fakeClock()), RangeError);
});
