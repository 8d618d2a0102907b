import assert from "node:assert/strict";
import { Metrics } from "../engine/metrics.ts";
import { parseConfig } from "../engine/config/load.ts";
import type { Series } from "./_observe.ts";
import { SteadyJudge } from "./_nexmark_verdict.ts";
import { WindowModel } from "./_nexmark_windows.ts";

/** An engine's metrics as /metrics renders them, parsed as the benchmark parses a scrape. */
class FakeEngine {
  readonly metrics = new Metrics();
  readonly lag = this.metrics.histogram("litejoin_join_lag_seconds", "");
  readonly delay = this.metrics.histogram("litejoin_window_close_delay_seconds", "");
  readonly closed = this.metrics.counter("litejoin_window_closed_total", "");
  readonly errors = this.metrics.counter("litejoin_join_errors_total", "");
  readonly pending = this.metrics.gauge("litejoin_join_oldest_pending_seconds", "");

  scrape(): Series {
    const series: Series = new Map();
    for (const line of this.metrics.render().split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const space = line.lastIndexOf(" ");
      series.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
    return series;
  }
}

function tumbling(): WindowModel {
  const config = parseConfig(
    `sources: [{ name: in, type: http, path: /in, topic: bids, key: id }]
sinks: [{ name: out, type: sqlite, path: ./out.db }]
windows:
  - name: w
    type: tumbling
    size: 10s
    time: dateTime
    sql: SELECT count(*) AS n FROM bids WHERE timestamp >= :window_start AND timestamp < :window_end
    sinks: [out]
`,
    "/tmp/litejoin.yaml",
  );
  return new WindowModel(config.windows[0], "bids");
}

const verdict = (judge: SteadyJudge, engine: FakeEngine, name: string, now = 0) =>
  judge.check(engine.scrape(), now).find((v) => v.name === name)!;

Deno.test("a join passes when every lag observation of the period is within 1 s", () => {
  const engine = new FakeEngine();
  engine.lag.observe({ join: "q0" }, 5); // before the period: not counted
  const judge = new SteadyJudge(["q0"], [], engine.scrape());
  engine.lag.observe({ join: "q0" }, 0.2);
  engine.lag.observe({ join: "q0" }, 0.9);
  const v = verdict(judge, engine, "q0");
  assert.equal(v.ok, true, v.reasons.join("; "));
  assert.equal(v.observations, 2);
  assert.equal(v.p99_s, 1);

  engine.lag.observe({ join: "q0" }, 1.2);
  const late = verdict(judge, engine, "q0");
  assert.equal(late.ok, false);
  assert.equal(late.late, 1);
  assert.match(late.reasons[0], /1 of 3 lag observations over 1 s/);
});

Deno.test("a join fails with no delivery, a long wait at a scrape, or an error", () => {
  const engine = new FakeEngine();
  const judge = new SteadyJudge(["q4", "q9"], [], engine.scrape());
  assert.match(verdict(judge, engine, "q4").reasons.join(), /no evaluation delivered/);

  engine.lag.observe({ join: "q4" }, 0.1);
  engine.lag.observe({ join: "q9" }, 0.1);
  engine.pending.set({ join: "q4" }, 2.5);
  assert.match(verdict(judge, engine, "q4").reasons.join(), /waited 2.5 s/);
  // The longest wait seen stays, even once the evaluation delivered.
  engine.pending.set({ join: "q4" }, 0);
  assert.equal(verdict(judge, engine, "q4").ok, false);

  engine.errors.inc({ join: "q9" });
  assert.match(verdict(judge, engine, "q9").reasons.join(), /1 failed evaluation/);
});

Deno.test("a window fails when a close is late, or when due windows have not closed", () => {
  const engine = new FakeEngine();
  const model = tumbling();
  const judge = new SteadyJudge([], [model], engine.scrape());
  for (let t = 0; t < 30_000; t += 100) model.observe("bids", { dateTime: t }, t);
  // At 15 s, [0, 10 s) is due more than 2 s ago; at 22.5 s [10 s, 20 s) too.
  assert.match(verdict(judge, engine, "w", 15_000).reasons.join(), /1 window\(s\) due/);
  engine.closed.inc({ window: "w" });
  engine.delay.observe({ window: "w" }, 0.05);
  assert.equal(verdict(judge, engine, "w", 15_000).ok, true);
  assert.equal(verdict(judge, engine, "w", 21_900).ok, true);
  assert.equal(verdict(judge, engine, "w", 22_500).ok, false);

  engine.closed.inc({ window: "w" });
  engine.delay.observe({ window: "w" }, 3);
  const late = verdict(judge, engine, "w", 22_500);
  assert.equal(late.ok, false);
  assert.match(late.reasons.join(), /1 of 2 close delay observations over 1 s/);
});
