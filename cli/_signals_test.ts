import assert from "node:assert/strict";
import { type StopSignal, StopSignals } from "./_signals.ts";

function harness() {
  let now = 10_000;
  const calls: string[] = [];
  const signals = new StopSignals({
    now: () => now,
    repeatWindowMs: 1000,
    stop: (s: StopSignal) => calls.push(`stop ${s}`),
    force: (s: StopSignal) => calls.push(`force ${s}`),
  });
  return { signals, calls, advance: (ms: number) => now += ms };
}

Deno.test("one Ctrl-C delivered twice or thrice at once stops gracefully, once", () => {
  const { signals, calls, advance } = harness();
  assert.equal(signals.receive("SIGINT"), "stop");
  assert.equal(signals.receive("SIGINT"), "repeat");
  advance(999);
  assert.equal(signals.receive("SIGINT"), "repeat");
  assert.deepEqual(calls, ["stop SIGINT"]);
  assert.equal(signals.signal, "SIGINT");
});

Deno.test("a signal after the window exits at once, whichever of SIGINT and SIGTERM", () => {
  const { signals, calls, advance } = harness();
  signals.receive("SIGTERM");
  signals.receive("SIGINT");
  advance(1000);
  assert.equal(signals.receive("SIGINT"), "force");
  assert.deepEqual(calls, ["stop SIGTERM", "force SIGINT"]);
});
