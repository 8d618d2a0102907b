/**
 * The payload indexes every shard keeps: those the delta lookups of joins use, those
 * declared under `topics[].indexes`, and those window SQL reads through.
 */
import type { Config } from "./config/load.ts";
import { topicIndexes } from "./joins/mode.ts";
import { type TopicIndex, uniqueIndexes } from "./store/indexes.ts";
import { windowIndexes } from "./windows/indexes.ts";

export function engineIndexes(config: Config): TopicIndex[] {
  const windows = config.windows.flatMap((window) => {
    const sql = config.windowSql.get(window.name);
    return sql ? windowIndexes(window, sql) : [];
  });
  return uniqueIndexes([...topicIndexes(config), ...windows]);
}
