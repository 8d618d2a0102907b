/**
 * The payload indexes every shard keeps: those the delta lookups of joins use, those
 * declared under `topics[].indexes`, and those window SQL reads through.
 */
import type { Config } from "./config/load.ts";
import { topicIndexes } from "./joins/mode.ts";
import { type TopicIndex, uniqueIndexes } from "./store/indexes.ts";
import { windowIndexes } from "./windows/indexes.ts";
import { plannedWindow, type WindowPlan } from "./windows/plan.ts";

export function engineIndexes(config: Config): TopicIndex[] {
  const windows = config.windows.flatMap((window) => {
    const sql = config.windowSql.get(window.name);
    return sql ? windowIndexes(window, sql) : [];
  });
  return uniqueIndexes([...topicIndexes(config), ...windows]);
}

/** How each window's SQL reads its topics through these indexes, by window name (what `validate` prints). */
export function windowPlans(config: Config): Map<string, WindowPlan> {
  const indexes = engineIndexes(config);
  const plans = new Map<string, WindowPlan>();
  for (const window of config.windows) {
    const sql = config.windowSql.get(window.name)!;
    plans.set(
      window.name,
      plannedWindow(
        window.sql,
        sql.parameters,
        config.topicNames,
        indexes,
        config.engine.shard_count,
      ),
    );
  }
  return plans;
}
