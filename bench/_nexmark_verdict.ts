/**
 * Whether every query's results stayed within a bound (1 s) of acceptance over a steady
 * period, read from the engine's /metrics: a scrape when the period starts, then one
 * every second or so.
 *
 * - A join passes if every lag observation of the period (`litejoin_join_lag_seconds`:
 *   from the commit of the oldest batch an evaluation covers to its delivery) is within
 *   the bound, at least one evaluation was delivered, no scrape saw a commit waiting
 *   longer than the bound (`litejoin_join_oldest_pending_seconds`), and none failed.
 * - A window passes if every close delay of the period (`litejoin_window_close_delay_seconds`:
 *   from end + grace to delivery) is within the bound, no window closes failed, and the
 *   windows that fell due more than `slackMs` ago are closed (`litejoin_window_closed_total`
 *   against a model of the stream, `_nexmark_windows.ts`): a close that never ends reports
 *   no delay at all.
 */
import { type Series, total } from "./_observe.ts";
import type { WindowModel } from "./_nexmark_windows.ts";
import { bucketQuantile, LATENCY_BUCKETS } from "../engine/metrics.ts";

export interface QueryVerdict {
  name: string;
  kind: "join" | "window";
  ok: boolean;
  /** Why it failed; empty when it passed. */
  reasons: string[];
  /** Lag (joins) or close delay (windows) observations in the period. */
  observations: number;
  /** Of those, how many exceeded the bound. */
  late: number;
  /** Upper bound of the histogram bucket holding the 99th percentile, seconds. */
  p99_s: number;
  /** joins: the longest wait of a pending commit seen at a scrape, seconds. */
  max_pending_s?: number;
  /** joins: the most changed keys seen waiting at a scrape. */
  max_pending_keys?: number;
  /** windows: closed by the end of the period, and due by then (less the slack). */
  closed?: number;
  due?: number;
}

export interface JudgeOptions {
  /** The bound on lag and close delay, seconds (1). */
  boundSeconds?: number;
  /** Windows due longer ago than this must be closed, ms. */
  slackMs?: number;
}

const HISTOGRAMS = {
  join: ["litejoin_join_lag_seconds", "join"],
  window: ["litejoin_window_close_delay_seconds", "window"],
} as const;

export class SteadyJudge {
  readonly #bound: number;
  readonly #slack: number;
  readonly #maxPending = new Map<string, number>();
  readonly #maxKeys = new Map<string, number>();

  constructor(
    readonly joins: readonly string[],
    readonly windows: readonly WindowModel[],
    /** The scrape at the start of the period. */
    readonly baseline: Series,
    options: JudgeOptions = {},
  ) {
    this.#bound = options.boundSeconds ?? 1;
    this.#slack = options.slackMs ?? 2000;
  }

  /** Takes a scrape made at wall-clock `now` (epoch ms); returns every query's verdict so far. */
  check(series: Series, now: number): QueryVerdict[] {
    for (const join of this.joins) {
      const seconds = pendingSeconds(series, join);
      this.#maxPending.set(join, Math.max(this.#maxPending.get(join) ?? 0, seconds));
      const keys = total(series, "litejoin_join_pending_keys", { join });
      this.#maxKeys.set(join, Math.max(this.#maxKeys.get(join) ?? 0, keys));
    }
    return [
      ...this.joins.map((join) => this.#join(series, join)),
      ...this.windows.map((window) => this.#window(series, window, now)),
    ];
  }

  #join(series: Series, name: string): QueryVerdict {
    const v = this.#histogram(series, "join", name);
    const errors = this.#delta(series, "litejoin_join_errors_total", { join: name });
    if (errors > 0) v.reasons.push(`${errors} failed evaluation(s)`);
    if (v.observations === 0) v.reasons.push("no evaluation delivered in the period");
    v.max_pending_s = round(this.#maxPending.get(name) ?? 0);
    v.max_pending_keys = this.#maxKeys.get(name) ?? 0;
    if (v.max_pending_s > this.#bound) {
      v.reasons.push(`a commit waited ${v.max_pending_s} s for its evaluation`);
    }
    v.ok = v.reasons.length === 0;
    return v;
  }

  #window(series: Series, model: WindowModel, now: number): QueryVerdict {
    const name = model.name;
    const v = this.#histogram(series, "window", name);
    const errors = this.#delta(series, "litejoin_window_errors_total", { window: name });
    if (errors > 0) v.reasons.push(`${errors} failed evaluation(s)`);
    v.closed = total(series, "litejoin_window_closed_total", { window: name });
    v.due = model.dueBy(now - this.#slack);
    if (v.closed < v.due - Math.floor(v.due * 0.01)) {
      v.reasons.push(
        `${v.due - v.closed} window(s) due over ${this.#slack / 1000} s ago not yet closed`,
      );
    }
    v.ok = v.reasons.length === 0;
    return v;
  }

  #histogram(series: Series, kind: "join" | "window", name: string): QueryVerdict {
    const [metric, label] = HISTOGRAMS[kind];
    const labels = { [label]: name };
    const count = this.#delta(series, `${metric}_count`, labels);
    const counts = LATENCY_BUCKETS.map((le) =>
      this.#delta(series, `${metric}_bucket`, { ...labels, le: String(le) })
    );
    const within = counts[LATENCY_BUCKETS.indexOf(this.#bound)] ??
      counts.filter((_, i) => LATENCY_BUCKETS[i] <= this.#bound).at(-1) ?? 0;
    const late = count - within;
    const reasons = late > 0
      ? [
        `${late} of ${count} ${
          kind === "join" ? "lag" : "close delay"
        } observations over ${this.#bound} s`,
      ]
      : [];
    return {
      name,
      kind,
      ok: false,
      reasons,
      observations: count,
      late,
      p99_s: bucketQuantile(LATENCY_BUCKETS, counts, count, 0.99),
    };
  }

  #delta(series: Series, name: string, labels: Record<string, string>): number {
    return total(series, name, labels) - total(this.baseline, name, labels);
  }
}

/** How long a join's oldest pending commit has waited, in seconds, from either gauge. */
function pendingSeconds(series: Series, join: string): number {
  const seconds = total(series, "litejoin_join_oldest_pending_seconds", { join });
  return seconds || total(series, "litejoin_join_lag_ms", { join }) / 1000;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
