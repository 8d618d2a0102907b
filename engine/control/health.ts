/**
 * The health rules: green, amber or red for each join, window and sink, with a reason
 * short enough for one line of an 80-column console. The console and `litejoin status`
 * show what these say; they decide nothing themselves.
 */
import type { Health } from "./protocol.ts";

export interface Verdict {
  status: Health;
  reason: string;
}

const OK: Verdict = { status: "ok", reason: "ok" };

/** Pending changed keys beyond which a join is behind. */
export const JOIN_BEHIND_KEYS = 10_000;
/** Evaluation p99 (ms) beyond which a join or window is slow. */
export const SLOW_P99_MS = 1000;
/** Queued results beyond which a sink is behind. */
export const SINK_BEHIND = 10_000;

export function plural(n: number, what: string, many = `${what}s`): string {
  return `${n} ${n === 1 ? what : many}`;
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms)}ms`;
}

/** A join or window: failing while its last evaluation failed; amber when behind or slow. */
export function evaluatorHealth(
  s: { error: string; pending_keys?: number; p99_ms: number },
): Verdict {
  if (s.error) return { status: "fail", reason: `failing: ${s.error}` };
  if ((s.pending_keys ?? 0) >= JOIN_BEHIND_KEYS) {
    return { status: "warn", reason: `behind: ${plural(s.pending_keys!, "changed key")} waiting` };
  }
  if (s.p99_ms >= SLOW_P99_MS) return { status: "warn", reason: `slow: p99 ${seconds(s.p99_ms)}` };
  return OK;
}

export interface SinkFacts {
  /** Results whose delivery failed after every inline attempt, in the last minute. */
  failedRecently: number;
  /** Inline retries in the last minute. */
  retriesRecently: number;
  backlog: number;
  /** Null without a DLQ. */
  dlq: { retrying: number; dead: number; oldest_failed_at: number | null } | null;
  now: number;
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/**
 * A sink: red when results are lost for good (dead letters, or failures without a DLQ);
 * amber while deliveries are being retried or pile up.
 */
export function sinkHealth(f: SinkFacts): Verdict {
  if (f.dlq) {
    const oldest = f.dlq.oldest_failed_at === null
      ? ""
      : `, oldest ${age(f.now - f.dlq.oldest_failed_at)} ago`;
    if (f.dlq.dead > 0) {
      return { status: "fail", reason: `${plural(f.dlq.dead, "dead letter")} in the DLQ${oldest}` };
    }
    if (f.dlq.retrying > 0) {
      return { status: "warn", reason: `${f.dlq.retrying} in the DLQ, retrying${oldest}` };
    }
  } else if (f.failedRecently > 0) {
    return {
      status: "fail",
      reason: `${plural(f.failedRecently, "result")} failed delivery in the last minute`,
    };
  }
  if (f.retriesRecently > 0) {
    return {
      status: "warn",
      reason: `retrying: ${plural(f.retriesRecently, "retry", "retries")} in the last minute`,
    };
  }
  if (f.backlog >= SINK_BEHIND) return { status: "warn", reason: `behind: ${f.backlog} queued` };
  return OK;
}

const RANK: Record<Health, number> = { ok: 0, warn: 1, fail: 2 };

/** The worst of several statuses ("ok" for none). */
export function worst(statuses: Iterable<Health>): Health {
  let result: Health = "ok";
  for (const s of statuses) if (RANK[s] > RANK[result]) result = s;
  return result;
}
