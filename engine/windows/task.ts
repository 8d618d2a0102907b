/** What a window needs at run time: its configuration, its sinks, and the engine's parts. */
import type { Logger } from "../log.ts";
import type { Counter, Histogram, Metrics } from "../metrics.ts";
import type { Meta } from "../store/meta.ts";
import type { Readers } from "../store/readers.ts";
import type { Writer } from "../store/writer.ts";
import type { Clock, ResultSink } from "../types.ts";
import type { WindowConfig } from "./config.ts";
import type { Timers } from "../timers.ts";

export type { ResultSink };

/** One configured window and where its results go. */
export interface WindowTask {
  config: WindowConfig;
  /** The topic whose messages open windows. */
  topic: string;
  /** Named parameters its SQL uses. */
  parameters: readonly string[];
  sinks: ResultSink[];
  late?: ResultSink;
}

export interface WindowerContext {
  readers: Pick<Readers, "query">;
  writer: Pick<Writer, "barrier" | "seqs">;
  meta: Meta;
  clock: Clock;
  timers: Timers;
  log: Logger;
  metrics: Metrics;
}

/** What the console and `/metrics` show about one window. */
export interface WindowHealth {
  name: string;
  type: string;
  open: number;
  /** The close frontier (epoch ms), or null before the first close. */
  closedThrough: number | null;
  /** Empty when healthy; otherwise the last error. */
  error: string;
}

/** The metrics every window reports, labelled by `window`. */
export interface WindowMetrics {
  late: Counter;
  skipped: Counter;
  closed: Counter;
  results: Counter;
  errors: Counter;
  delay: Histogram;
}

export function windowMetrics(m: Metrics): WindowMetrics {
  return {
    late: m.counter(
      "litejoin_window_late_total",
      "Events that arrived after their window closed, by window.",
    ),
    skipped: m.counter(
      "litejoin_window_skipped_total",
      "Events without a usable time or session key, by window and reason.",
    ),
    closed: m.counter("litejoin_window_closed_total", "Windows closed and delivered, by window."),
    results: m.counter("litejoin_window_results_total", "Results delivered by windows, by window."),
    errors: m.counter("litejoin_window_errors_total", "Failed window evaluations, by window."),
    delay: m.histogram(
      "litejoin_window_close_delay_seconds",
      "Time from a window's close (end + grace) to the delivery of its results, by window.",
    ),
  };
}
