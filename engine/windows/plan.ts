/**
 * What SQLite's plan for a window's statement reads, for one window: the indexes it
 * searches and the topics it reads whole (`SCAN`), which then cost every window the
 * whole topic. `windowScans` asks the engine's readers, over the real shards;
 * `plannedWindow` plans on empty tables with the same indexes, for `litejoin validate`.
 */
import { DatabaseSync } from "node:sqlite";
import { indexExpression, indexName, type TopicIndex } from "../store/indexes.ts";
import { topicView } from "../store/reader_db.ts";
import type { Readers } from "../store/readers.ts";
import { topicDdl } from "../store/topics.ts";
import type { WindowConfig } from "./config.ts";
import { windowParams } from "./results.ts";

export interface WindowPlan {
  /** Indexes the plan searches, by name. */
  searches: string[];
  /** Topics the plan reads in full. */
  scans: string[];
}

/** Bounds of one window: the plan does not depend on the values. */
const params = (parameters: readonly string[]) =>
  windowParams(parameters, { start: 0, end: 1, key: "" });

/** The topics SQLite reads in full for one window of `sql`, through the readers' topic views. */
export async function windowScans(
  sql: string,
  parameters: readonly string[],
  readers: Pick<Readers, "query">,
): Promise<string[]> {
  const { rows } = await readers.query(`EXPLAIN QUERY PLAN ${sql}`, params(parameters));
  return readPlan(rows.map((r) => String(r.detail))).scans;
}

/**
 * The plan of `sql` over `shards` empty shards of `topics` that keep `indexes`: the
 * number matters, since one shard's topic view is a plain table to SQLite.
 */
export function plannedWindow(
  sql: string,
  parameters: readonly string[],
  topics: readonly string[],
  indexes: readonly TopicIndex[],
  shards: number,
): WindowPlan {
  const db = new DatabaseSync(":memory:");
  try {
    for (let i = 0; i < shards; i++) {
      db.exec(`ATTACH DATABASE ':memory:' AS s${i}`);
      for (const topic of topics) db.exec(topicDdl(topic, `s${i}`));
      for (const index of indexes.filter((x) => topics.includes(x.topic))) {
        db.exec(
          `CREATE INDEX s${i}."${indexName(index)}" ON "${index.topic}"(${indexExpression(index)})`,
        );
      }
    }
    for (const topic of topics) db.exec(topicView(topic, shards));
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params(parameters));
    return readPlan(rows.map((r) => String(r.detail)));
  } finally {
    db.close();
  }
}

function readPlan(details: readonly string[]): WindowPlan {
  const searches = new Set<string>();
  const scans = new Set<string>();
  for (const detail of details) {
    const scan = /^SCAN s\d+\.(?:"([^"]+)"|(\w+))/.exec(detail);
    if (scan) scans.add(scan[1] ?? scan[2]);
    const search = /^SEARCH s\d+\.\S+ USING (?:COVERING )?INDEX (?:"([^"]+)"|(\S+))/.exec(detail);
    if (search) searches.add(search[1] ?? search[2]);
  }
  return { searches: [...searches], scans: [...scans] };
}

/** What the engine logs when a window's plan reads whole topics (`scans`), and what to do. */
export function scansWarning(
  window: WindowConfig,
  topic: string,
  scans: readonly string[],
): string {
  const own = scans.includes(topic);
  const others = scans.filter((t) => t !== topic);
  const why: string[] = [];
  if (own) {
    why.push(
      `no index serves its filter on ${topic}: compare timestamp or json_extract(payload, '$.field') ` +
        "with :window_start and :window_end" +
        (window.type === "session"
          ? `, and json_extract(payload, '$.${window.key}') with :session_key`
          : ""),
    );
  }
  if (others.length) {
    why.push(
      `SQLite reads a joined topic (${others.join(", ")}) whole, as it cannot look into each ` +
        "shard by the join's key",
    );
  }
  return `window ${window.name}: its SQL reads all of ${scans.join(", ")} for every window; ` +
    why.join("; ");
}
