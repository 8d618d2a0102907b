import assert from "node:assert/strict";
import { SessionWindows } from "./session.ts";
import type { Span } from "./window.ts";

const spans = (list: readonly Span[]) => list.map((w) => [w.key, w.start, w.end]);

Deno.test("session window closes after the gap plus grace following its last event", () => {
  const sessions = new SessionWindows(1000, undefined, 0);
  sessions.add(1000, "a");
  sessions.add(1500, "a");
  assert.equal(sessions.nextClose(), 2500);
  assert.deepEqual(sessions.closeThrough(2499), []);
  assert.deepEqual(spans(sessions.closeThrough(2500)), [["a", 1000, 2500]]);
  assert.equal(sessions.openCount, 0);
});

Deno.test("session windows of different keys are independent", () => {
  const sessions = new SessionWindows(1000, undefined, 0);
  sessions.add(0, "a");
  sessions.add(500, "b");
  sessions.add(900, "a");
  sessions.add(700, 7);
  sessions.add(800, "7");
  assert.equal(sessions.openCount, 4, '7 and "7" are different keys');
  assert.deepEqual(spans(sessions.closeThrough(1800)), [["b", 500, 1500], [7, 700, 1700], [
    "7",
    800,
    1800,
  ]]);
  assert.deepEqual(spans(sessions.closeThrough(1900)), [["a", 0, 1900]]);
});

Deno.test("session window grace lets a late-arriving event extend the session", () => {
  const sessions = new SessionWindows(1000, undefined, 500);
  sessions.add(1000, "a");
  assert.equal(sessions.nextClose(), 2500);
  sessions.closeThrough(2200);
  const extended = sessions.add(1800, "a");
  assert.equal(extended.late, false);
  assert.deepEqual(spans(extended.windows), [["a", 1000, 2800]]);
  assert.equal(sessions.nextClose(), 3300);
});

Deno.test("session window merges two sessions when an event bridges them", () => {
  const sessions = new SessionWindows(1000, undefined, 0);
  const first = sessions.add(0, "a").windows[0];
  const second = sessions.add(1800, "a").windows[0];
  assert.equal(sessions.openCount, 2);
  const bridge = sessions.add(900, "a");
  assert.equal(bridge.windows[0], first);
  assert.deepEqual(bridge.merged, [second]);
  assert.equal(sessions.openCount, 1);
  assert.deepEqual(spans(sessions.closeThrough(Infinity)), [["a", 0, 2800]]);
});

Deno.test("session window grows backwards when an earlier event arrives within the gap", () => {
  const sessions = new SessionWindows(1000, undefined, 0);
  sessions.add(5000, "a");
  assert.deepEqual(spans(sessions.add(4200, "a").windows), [["a", 4200, 6000]]);
  assert.deepEqual(spans(sessions.add(3000, "a").windows), [["a", 3000, 4000]], "too early: new");
  assert.equal(sessions.openCount, 2);
});

Deno.test("session window never spans more than max_duration; the next event starts a new one", () => {
  const sessions = new SessionWindows(1000, 2500, 0);
  for (const t of [0, 800, 1600, 2400]) sessions.add(t, "a");
  const next = sessions.add(2600, "a");
  assert.deepEqual(spans(next.windows), [["a", 2600, 3600]]);
  assert.deepEqual(spans(sessions.closeThrough(Infinity)), [["a", 0, 2500], ["a", 2600, 3600]]);
});

Deno.test("session window capped by max_duration ends where the next session starts", () => {
  const sessions = new SessionWindows(1000, 2500, 0);
  for (const t of [0, 900, 2000, 2900]) sessions.add(t, "a"); // [0..900] and [2000..2900]
  assert.equal(sessions.openCount, 2);
  const bridge = sessions.add(1700, "a"); // within the gap of both, but a merge would span 2900
  assert.deepEqual(bridge.merged, []);
  assert.deepEqual(spans(sessions.closeThrough(Infinity)), [["a", 0, 2000], ["a", 2000, 3900]]);
});

Deno.test("session event behind the frontier is late unless an open session holds it", () => {
  const sessions = new SessionWindows(1000, undefined, 0);
  sessions.add(0, "a");
  sessions.add(2500, "b");
  assert.deepEqual(spans(sessions.closeThrough(1000)), [["a", 0, 1000]]);
  assert.equal(sessions.add(500, "a").late, true, "falls in a closed session");
  assert.equal(sessions.add(900, "c").late, true, "behind the frontier");
  assert.equal(sessions.add(2000, "b").late, false, "ahead of the frontier");
  sessions.closeThrough(2900);
  const held = sessions.add(2100, "b");
  assert.equal(held.late, false, "behind the frontier but inside b's open session");
  assert.deepEqual(spans(held.windows), [["b", 2000, 3500]]);
});

Deno.test("session starts saved with the frontier rebuild the same sessions after a restart", () => {
  const events: [number, string][] = [[0, "a"], [600, "a"], [1200, "a"], [1300, "b"], [1900, "a"]];
  const live = new SessionWindows(1000, undefined, 0);
  for (const [t, k] of events) live.add(t, k);
  live.closeThrough(2200); // frontier passes a's early events: they are behind it now
  const saved = live.takeStarts();
  assert.deepEqual(saved.sort(), [["a", [0]], ["b", [1300]]]);
  assert.deepEqual(live.takeStarts(), [], "nothing changed since");

  const rebuilt = new SessionWindows(1000, undefined, 0);
  rebuilt.closeThrough(2200);
  rebuilt.seed(saved);
  for (const [t, k] of events) assert.equal(rebuilt.add(t, k).late, false, `${k}@${t}`);
  assert.deepEqual(spans(rebuilt.closeThrough(Infinity)), spans(live.closeThrough(Infinity)));
});

/** Sessions by definition: sorted events of a key, split where the gap is reached. */
function reference(events: [number, string][], gap: number): [string, number, number][] {
  const out: [string, number, number][] = [];
  const byKey = Map.groupBy(events, ([, k]) => k);
  for (const [key, list] of byKey) {
    const times = list.map(([t]) => t).sort((a, b) => a - b);
    let start = times[0];
    for (let i = 1; i <= times.length; i++) {
      if (i === times.length || times[i] - times[i - 1] >= gap) {
        out.push([key, start, times[i - 1] + gap]);
        start = times[i];
      }
    }
  }
  return out.sort((a, b) => a[2] - b[2] || a[0].localeCompare(b[0]));
}

function random(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

Deno.test("session windows match the definition whatever the order events arrive in", () => {
  const rand = random(42);
  for (let round = 0; round < 200; round++) {
    const events: [number, string][] = Array.from(
      { length: 1 + Math.floor(rand() * 40) },
      () => [Math.floor(rand() * 20_000), `k${Math.floor(rand() * 3)}`],
    );
    const sessions = new SessionWindows(1000, undefined, 0);
    for (const [t, k] of events) sessions.add(t, k);
    const got = spans(sessions.closeThrough(Infinity))
      .sort((a, b) =>
        (a[2] as number) - (b[2] as number) || String(a[0]).localeCompare(String(b[0]))
      );
    assert.deepEqual(got, reference(events, 1000), JSON.stringify(events));
  }
});

Deno.test("capped sessions never overlap and hold every event exactly once", () => {
  const rand = random(7);
  for (let round = 0; round < 200; round++) {
    const events: [number, string][] = Array.from(
      { length: 1 + Math.floor(rand() * 60) },
      () => [Math.floor(rand() * 20_000), "k"],
    );
    const sessions = new SessionWindows(1000, 2500, 0);
    for (const [t, k] of events) sessions.add(t, k);
    const closed = sessions.closeThrough(Infinity).sort((a, b) => a.start - b.start);
    for (let i = 0; i < closed.length; i++) {
      const s = closed[i];
      assert.ok(s.end - s.start <= 2500, `span ${s.start}..${s.end}`);
      if (i > 0) assert.ok(closed[i - 1].end <= s.start, "overlap");
    }
    for (const [t] of events) {
      assert.equal(closed.filter((s) => s.start <= t && t < s.end).length, 1, `event ${t}`);
    }
  }
});

Deno.test("sessions rebuilt from saved starts and the stored events equal the live ones", () => {
  const rand = random(99);
  for (let round = 0; round < 300; round++) {
    const live = new SessionWindows(1000, undefined, 200);
    const stored: [number, string][] = []; // what the topic holds: every accepted event
    const saved = new Map<string, number[]>(); // what each close cycle recorded
    let frontier = 0;
    for (let i = 0; i < 80; i++) {
      if (rand() < 0.15) {
        frontier += Math.floor(rand() * 1500);
        live.closeThrough(frontier);
        for (const [id, starts] of live.takeStarts()) saved.set(id, starts);
      } else {
        const event: [number, string] = [
          frontier - 800 + Math.floor(rand() * 3000),
          `k${Math.floor(rand() * 3)}`,
        ];
        if (!live.add(...event).late) stored.push(event);
      }
    }
    // A restart: the recorded frontier and starts, then the stored events in time order.
    const rebuilt = new SessionWindows(1000, undefined, 200);
    rebuilt.closeThrough(live.closed);
    rebuilt.seed(saved);
    const from = (key: string) => Math.min(live.closed - 200, ...(saved.get(key) ?? []));
    stored.filter(([t, k]) => t >= from(k)).sort((a, b) => a[0] - b[0])
      .forEach(([t, k]) => rebuilt.add(t, k));
    const sorted = (list: Span[]) => spans(list).sort((a, b) => String(a).localeCompare(String(b)));
    assert.deepEqual(sorted(rebuilt.closeThrough(Infinity)), sorted(live.closeThrough(Infinity)));
  }
});
