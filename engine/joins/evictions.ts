/**
 * Results whose source rows retention or tiering evicted. By default an eviction is a
 * change like a delete (`on_eviction: retract`): the join re-evaluates the evicted keys
 * and retracts what they produced, as a full evaluation would. A join with
 * `on_eviction: keep` instead forgets those results without delivering anything: they
 * stay as delivered, and no later change, restart or re-evaluation retracts them (the
 * join no longer knows them; a result that comes back for the same key is an insert).
 */
import type { EmittedState, EmittedUpdate, ProvenanceUpdate } from "./emitted.ts";
import type { TopicChanges } from "./evaluator.ts";

export type OnEviction = "retract" | "keep";

/** What to record so that a join forgets the results of evicted rows. */
export interface Forgotten {
  update: EmittedUpdate;
  provenance: ProvenanceUpdate;
}

/**
 * The results whose source row in some occurrence (`occurrences[i]` is the topic of
 * occurrence i) is one of the evicted keys of that topic, as an update that removes
 * them and their provenance. Needs the provenance a delta evaluation records.
 */
export function forgetEvicted(
  emitted: EmittedState,
  occurrences: readonly string[],
  evicted: TopicChanges,
): Forgotten {
  const update: EmittedUpdate = new Map();
  const changes: ProvenanceUpdate["changes"] = new Map();
  occurrences.forEach((topic, occ) => {
    const keys = evicted.get(topic);
    if (!keys?.size) return;
    for (const [key, entry] of emitted.resultsFrom(occ, keys)) {
      update.set(key, null);
      changes.set(key, { before: entry.sources, after: null });
    }
  });
  return { update, provenance: { changes } };
}
