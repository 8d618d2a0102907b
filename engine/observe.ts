/**
 * Gauges read when `/metrics` is scraped: the process, and the queues and health of
 * joins and sinks. Counters and histograms live with the components that count.
 */
import type { Metrics } from "./metrics.ts";
import type { Joiner } from "./joins/joiner.ts";
import type { SinkRunner } from "./sinks/runner.ts";
import type { Writer } from "./store/writer.ts";
import { VERSION } from "./version.ts";

export function observeEngine(
  metrics: Metrics,
  parts: { sinks: ReadonlyMap<string, SinkRunner>; joiner: Joiner; startedAt: number },
): void {
  const gauge = (
    name: string,
    help: string,
    read: (set: (labels: Record<string, string>, v: number) => void) => void,
  ) => {
    const g = metrics.gauge(name, help);
    g.collect(() => read((labels, value) => g.set(labels, value)));
  };
  gauge(
    "litejoin_build_info",
    "Always 1; the version is a label.",
    (set) => set({ version: VERSION }, 1),
  );
  gauge(
    "process_start_time_seconds",
    "Start time of the engine since the Unix epoch, in seconds.",
    (set) => set({}, parts.startedAt / 1000),
  );
  gauge(
    "process_resident_memory_bytes",
    "Resident memory of the process.",
    (set) => set({}, Deno.memoryUsage().rss),
  );
  gauge(
    "litejoin_heap_used_bytes",
    "JavaScript heap in use.",
    (set) => set({}, Deno.memoryUsage().heapUsed),
  );
  gauge("litejoin_sink_backlog_results", "Results queued for delivery, by sink.", (set) => {
    for (const [sink, runner] of parts.sinks) set({ sink }, runner.backlog);
  });
  gauge("litejoin_join_pending_keys", "Changed keys waiting for evaluation, by join.", (set) => {
    for (const join of parts.joiner.health()) set({ join: join.name }, join.pendingKeys);
  });
  gauge(
    "litejoin_join_oldest_pending_seconds",
    "How long the oldest commit a join has not yet delivered has waited, by join (0 when caught up).",
    (set) => {
      for (const join of parts.joiner.health()) set({ join: join.name }, join.lagMs / 1000);
    },
  );
  gauge(
    "litejoin_join_failing",
    "1 while the last evaluation of a join failed, by join.",
    (set) => {
      for (const join of parts.joiner.health()) set({ join: join.name }, join.error ? 1 : 0);
    },
  );
}

/** Commit counts, sizes and latency per shard, and the writer's backlog. */
export function observeWriter(writer: Writer, metrics: Metrics): void {
  const commits = metrics.counter("litejoin_shard_commits_total", "Batches committed, by shard.");
  const rows = metrics.counter("litejoin_shard_messages_total", "Messages committed, by shard.");
  const latency = metrics.histogram(
    "litejoin_shard_commit_seconds",
    "Time to commit one batch, by shard.",
  );
  const backlog = metrics.gauge(
    "litejoin_writer_backlog_messages",
    "Messages accepted but not yet committed.",
  );
  backlog.collect(() => backlog.set({}, writer.backlog));
  const perShard = writer.seqs().map((_, i) => ({
    labels: { shard: String(i) },
    commits: commits.bind({ shard: String(i) }),
    rows: rows.bind({ shard: String(i) }),
  }));
  writer.onCommit((batch) => {
    const shard = perShard[batch.shard];
    shard.commits.inc();
    shard.rows.inc(batch.messages.length);
    latency.observe(shard.labels, batch.commitMs / 1000);
  });
}
