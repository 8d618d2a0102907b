/**
 * How each join is evaluated: `auto` picks delta evaluation when SQLite shows it is
 * exact for the query (see `delta_plan.ts`) and full re-evaluation otherwise; a
 * join's `mode` can force either (`delta` is refused at config load when inexact).
 */
import type { TopicConfig } from "../store/spec.ts";
import type { JoinConfig } from "./spec.ts";
import { fullPath, type TopicIndex, uniqueIndexes } from "../store/indexes.ts";
import type { Readers } from "../store/readers.ts";
import type { Clock } from "../types.ts";
import { DeltaEvaluator } from "./delta.ts";
import { GroupEvaluator } from "./group.ts";
import { forgetMembers } from "./group_members.ts";
import { clockEvaluator } from "./clock_evaluator.ts";
import type { DeltaAnalysis } from "./delta_plan.ts";
import type { EmittedState } from "./emitted.ts";
import { type Evaluator, FullEvaluator, type JoinDefinition } from "./evaluator.ts";

export interface EvaluatorChoice {
  evaluator: Evaluator;
  /** Why this mode, for the startup log. */
  reason: string;
}

/** The mode a join runs in, and why: what the startup log and `litejoin validate` show. */
export function modeOf(
  join: Pick<JoinConfig, "mode">,
  analysis: DeltaAnalysis | undefined,
): { mode: "delta" | "full"; reason: string } {
  if (join.mode === "full") return { mode: "full", reason: "set by mode: full" };
  if (!analysis?.exact) return { mode: "full", reason: analysis?.reason ?? "it reads no topic" };
  const group = analysis.plan.group;
  const reason = join.mode === "delta"
    ? "set by mode: delta"
    : group
    ? `recomputes only the groups a batch touches (GROUP BY ${group.term})`
    : "SQLite shows it is delta-exact";
  const clock = analysis.plan.clock
    ? "; bounded by the clock, also evaluated when a row crosses"
    : "";
  return { mode: "delta", reason: reason + clock };
}

export function chooseEvaluator(
  join: Pick<JoinConfig, "mode">,
  definition: JoinDefinition,
  analysis: DeltaAnalysis | undefined,
  deps: { readers: Readers; emitted: EmittedState; clock: Clock; shardCount: number },
): EvaluatorChoice {
  const { mode, reason } = modeOf(join, analysis);
  if (mode === "full" || !analysis?.exact || !analysis.plan.group) {
    forgetMembers(deps.emitted.meta, definition.name);
  }
  if (mode === "full" || !analysis?.exact) {
    // Full evaluation does not keep provenance; a later switch to delta rebuilds it.
    deps.emitted.resetProvenance();
    return {
      evaluator: new FullEvaluator(definition, deps.readers, deps.emitted, deps.clock),
      reason,
    };
  }
  if (analysis.plan.clock) {
    return { evaluator: clockEvaluator(definition, analysis.plan, deps), reason };
  }
  const evaluator = new (analysis.plan.group ? GroupEvaluator : DeltaEvaluator)(
    definition,
    analysis.plan,
    deps.readers,
    deps.emitted,
    deps.clock,
    deps.shardCount,
  );
  return { evaluator, reason };
}

/**
 * The payload indexes the shards keep: those the delta lookups of delta-evaluated
 * joins use, and those declared under `topics[].indexes`.
 */
export function topicIndexes(config: {
  joins: readonly JoinConfig[];
  joinDelta: ReadonlyMap<string, DeltaAnalysis>;
  topics: readonly Pick<TopicConfig, "name" | "indexes">[];
}): TopicIndex[] {
  const out: TopicIndex[] = [];
  for (const join of config.joins) {
    const analysis = config.joinDelta.get(join.name);
    if (join.mode !== "full" && analysis?.exact) out.push(...analysis.plan.indexes);
  }
  for (const topic of config.topics) {
    for (const path of topic.indexes) {
      out.push({ topic: topic.name, path: fullPath(path), as: "json" });
    }
  }
  return uniqueIndexes(out);
}

/**
 * Topics that a delta of `evaluator` scans in full (no index lookup answers it),
 * as `driving -> scanned`, read from SQLite's EXPLAIN QUERY PLAN. Empty for full mode.
 */
export async function deltaScans(evaluator: Evaluator, readers: Readers): Promise<string[]> {
  if (!evaluator.statements) return [];
  const out = new Set<string>();
  for (const [driving, sql, params] of evaluator.statements()) {
    for (const row of await readers.all(`EXPLAIN QUERY PLAN ${sql}`, params)) {
      const scan = /^SCAN s\d+\.(?:"([^"]+)"|(\w+))/.exec(String(row.detail));
      if (scan) out.add(`${driving} -> ${scan[1] ?? scan[2]}`);
    }
  }
  return [...out];
}
