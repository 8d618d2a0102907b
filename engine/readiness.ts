/**
 * Readiness: whether the engine can take input and deliver results now, and if not,
 * why. `/readyz` answers 503 with the reasons while any holds and 200 otherwise, and the
 * gauge `litejoin_ready` is 1 or 0. Liveness is `/healthz`, a separate question: an
 * engine that is not ready is alive, and restarting it would not help (a full disk does
 * not empty itself on restart); a load balancer should only stop sending it traffic.
 */
import type { Metrics } from "./metrics.ts";
import type { CommitFailure } from "./store/writer.ts";

/** One reason the engine is not ready; `name` is the component's, where one is at fault. */
export interface Reason {
  /** "starting" is answered while the engine starts (see `startup.ts`). */
  check:
    | "starting"
    | "stopping"
    | "disk"
    | "writer"
    | "backlog"
    | "source"
    | "sink"
    | "join"
    | "window";
  name?: string;
  message: string;
}

/** What readiness is decided from, read when asked. */
export interface ReadinessFacts {
  stopping: boolean;
  /** Where the data lives, for "free space in …". */
  dataDir: string;
  writer: { backlog: number; maxBacklog: number; failures: readonly CommitFailure[] };
  /** Each source's `failing()`, when it has one. */
  sources: readonly { name: string; failing?: string }[];
  /** Each sink's last failed send, until one succeeds. */
  sinks: readonly { name: string; failing?: string }[];
  /** Each join's and window's last evaluation error ("" when it succeeded). */
  joins: readonly { name: string; error: string }[];
  windows: readonly { name: string; error: string }[];
}

/** The share of `engine.max_backlog` at which the engine stops being ready: writes are about to be refused. */
export const BACKLOG_NOT_READY = 0.9;

/** Whether an error from SQLite or the file system says there is no room left. */
export function isDiskFull(error: string): boolean {
  return /disk is full|SQLITE_FULL|ENOSPC|no space left/i.test(error);
}

/** Every reason the engine cannot accept input or deliver results now; empty when it can. */
export function readinessReasons(f: ReadinessFacts): Reason[] {
  const reasons: Reason[] = [];
  if (f.stopping) reasons.push({ check: "stopping", message: "the engine is shutting down" });
  const full = f.writer.failures.filter((s) => isDiskFull(s.error));
  if (full.length) {
    const shards = full.map((s) => s.shard).join(", ");
    reasons.push({
      check: "disk",
      message: `${full.length === 1 ? "shard" : "shards"} ${shards} cannot commit: ` +
        `${full[0].error}; free space on the disk of ${f.dataDir}`,
    });
  }
  for (const s of f.writer.failures.filter((s) => !isDiskFull(s.error))) {
    reasons.push({ check: "writer", message: `shard ${s.shard} cannot commit: ${s.error}` });
  }
  const { backlog, maxBacklog } = f.writer;
  if (backlog >= maxBacklog * BACKLOG_NOT_READY) {
    reasons.push({
      check: "backlog",
      message: `the writer is behind: ${backlog} of at most ${maxBacklog} messages waiting ` +
        `to commit (engine.max_backlog); writes are refused past it`,
    });
  }
  for (const s of f.sources) {
    if (s.failing) reasons.push({ check: "source", name: s.name, message: s.failing });
  }
  for (const s of f.sinks) {
    if (s.failing) {
      reasons.push({
        check: "sink",
        name: s.name,
        message: `the last delivery failed after every retry: ${s.failing}`,
      });
    }
  }
  const evaluators = [
    ...f.joins.map((j) => ({ ...j, check: "join" as const })),
    ...f.windows.map((w) => ({ ...w, check: "window" as const })),
  ];
  for (const e of evaluators.filter((e) => e.error)) {
    const disk = isDiskFull(e.error) ? `; free space on the disk of ${f.dataDir}` : "";
    reasons.push({
      check: e.check,
      name: e.name,
      message: `the last evaluation failed: ${e.error}${disk}`,
    });
  }
  return reasons;
}

/** `/readyz`: 200 `{"status":"ready"}`, or 503 `{"status":"not ready","reasons":[…]}`. */
export function readinessResponse(reasons: readonly Reason[]): Response {
  if (reasons.length === 0) return Response.json({ status: "ready" });
  return Response.json({ status: "not ready", reasons }, {
    status: 503,
    headers: { "retry-after": "5" },
  });
}

/** The gauge `litejoin_ready`, 1 or 0 when scraped. */
export function observeReadiness(metrics: Metrics, reasons: () => readonly Reason[]): void {
  const ready = metrics.gauge(
    "litejoin_ready",
    "1 while the engine can accept input and deliver results (what /readyz says), else 0.",
  );
  ready.collect(() => ready.set({}, reasons().length === 0 ? 1 : 0));
}
