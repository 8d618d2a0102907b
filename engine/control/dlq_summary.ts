/** The DLQ in one line of text, for the dashboard, the DLQ view and `litejoin status`. */
import type { DlqSummary } from "./protocol.ts";
import { age } from "./format.ts";

/** The line's text, e.g. `3 waiting · hook: 1 retrying, 2 dead, oldest 5m ago`. */
export function dlqSummaryText(dlq: DlqSummary | null, enabled: boolean, now: number): string {
  if (!enabled || !dlq) return "not enabled";
  const parts = Object.entries(dlq.by_sink)
    .filter(([, s]) => s.retrying + s.dead > 0)
    .map(([sink, s]) =>
      `${sink}: ${s.retrying} retrying, ${s.dead} dead` +
      (s.oldest_failed_at === null ? "" : `, oldest ${age(now - s.oldest_failed_at)} ago`)
    );
  const rejected = Object.values(dlq.rejected).reduce((n, c) => n + c, 0);
  const waiting = Object.values(dlq.by_sink).reduce((n, s) => n + s.retrying + s.dead, 0);
  return [
    waiting ? `${waiting} waiting` : "empty",
    ...parts,
    ...(rejected ? [`${rejected} rejected at sources`] : []),
  ].join(" · ");
}
