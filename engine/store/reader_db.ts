/** A read connection that shows each topic as one view over every shard. */
import { DatabaseSync } from "node:sqlite";
import { shardPath } from "./shard.ts";

/** SQLite's limit on attached databases in the builds Deno ships. */
export const MAX_SHARDS = 10;

/** How much of each shard file a reader maps into memory. */
const MMAP_BYTES = 1 << 30;

/** The columns of a topic as user SQL sees them. */
export const TOPIC_COLUMNS = "key, payload, timestamp, _seq, _change";

/**
 * Opens an in-memory connection with every shard attached as `s0`…`sN` and a TEMP view
 * per topic (`UNION ALL` over the shards), so SQL says `FROM orders`. The connection
 * is then made query-only: it can never write a shard.
 */
export function openReader(
  dataDir: string,
  shardCount: number,
  topics: readonly string[],
  opts: { busyTimeoutMs?: number } = {},
): DatabaseSync {
  const db = new DatabaseSync(":memory:");
  db.exec(`PRAGMA busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  for (let i = 0; i < shardCount; i++) {
    db.prepare(`ATTACH DATABASE ? AS s${i}`).run(shardPath(dataDir, i));
    // Index lookups into large topics read pages from the OS cache without a copy.
    db.exec(`PRAGMA s${i}.mmap_size = ${MMAP_BYTES}`);
  }
  for (const topic of topics) db.exec(topicView(topic, shardCount));
  db.exec("PRAGMA query_only = ON");
  return db;
}

export function topicView(topic: string, shardCount: number): string {
  const parts = Array.from(
    { length: shardCount },
    (_, i) => `SELECT ${TOPIC_COLUMNS} FROM s${i}."${topic}"`,
  );
  return `CREATE TEMP VIEW IF NOT EXISTS "${topic}" AS ${parts.join(" UNION ALL ")}`;
}
