/**
 * Replay: sends chosen `retrying` and `dead` entries now, whatever their next attempt
 * time, through the same claims as the retry worker, so the two never send one entry
 * twice even when they run at once (in one process or two).
 */
import type { Clock } from "../types.ts";
import type { DlqStore, EntryFilter } from "./store.ts";
import type { SinkGate } from "./gate.ts";
import { redeliver, type RetryPolicy } from "./redeliver.ts";

export interface ReplaySummary {
  /** Entries this replay sent: `delivered + failed`. */
  replayed: number;
  delivered: number;
  /** Sent and refused again: dead ones stay dead, retrying ones follow the backoff. */
  failed: number;
  /** Chosen but not sent: in flight elsewhere, superseded, or of a sink not configured. */
  skipped: number;
}

export interface ReplayProgress {
  done: number;
  total: number;
  delivered: number;
  failed: number;
}

/** Sends the entries matching `filter`, in id order, in batches of each sink's `max_batch`. */
export async function replay(
  store: DlqStore,
  gates: ReadonlyMap<string, SinkGate>,
  filter: EntryFilter,
  opts: {
    owner: string;
    leaseMs: number;
    policy: RetryPolicy;
    clock: Clock;
    onProgress?: (p: ReplayProgress) => void;
  },
): Promise<ReplaySummary> {
  const ids = store.replayable(filter);
  const summary: ReplaySummary = { replayed: 0, delivered: 0, failed: 0, skipped: 0 };
  const progress = (done: number) =>
    opts.onProgress?.({
      done,
      total: ids.length,
      delivered: summary.delivered,
      failed: summary.failed,
    });
  progress(0);
  const chunk = Math.max(1, Math.min(...[...gates.values()].map((g) => g.maxBatch), 500));
  for (let i = 0; i < ids.length; i += chunk) {
    const slice = ids.slice(i, i + chunk);
    const claimed = store.claimIds(slice, opts.clock.now(), opts.owner, opts.leaseMs);
    summary.skipped += slice.length - claimed.length;
    const bySink = Map.groupBy(claimed, (e) => e.sink);
    for (const [sink, entries] of bySink) {
      const gate = gates.get(sink);
      if (!gate) {
        store.release(entries.map((e) => e.id), opts.owner);
        summary.skipped += entries.length;
        continue;
      }
      const outcome = await redeliver(
        store,
        gate,
        entries,
        opts.owner,
        opts.policy,
        () => opts.clock.now(),
      );
      summary.delivered += outcome.delivered;
      summary.failed += outcome.failed;
      summary.skipped += outcome.superseded;
    }
    progress(Math.min(ids.length, i + chunk));
  }
  summary.replayed = summary.delivered + summary.failed;
  return summary;
}
