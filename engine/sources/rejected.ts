/**
 * Input a source had to refuse but must not lose: a Kafka record that is not valid
 * JSON, not a JSON object, or has no key. It is kept for inspection, and the stream it
 * came from moves on.
 *
 * `keepRejected` is the one seam: today it writes a small table in `meta.db`; once the
 * dead-letter queue exists, it is the function to point at it.
 */
import type { Meta } from "../store/meta.ts";

export interface RejectedMessage {
  /** The source that refused it. */
  source: string;
  /** Where it came from, e.g. `kafka:orders/2@1041` (topic, partition, offset). */
  origin: string;
  /** Why, in one line: `not valid JSON at line 1 column 7: unexpected "x"`. */
  reason: string;
  key: string | null;
  /** The raw bytes as received. */
  value: Uint8Array | null;
  /** When it was refused (Unix ms). */
  at: number;
}

/** Rows kept per source; older ones make room. The counters keep the full count. */
export const KEPT_PER_SOURCE = 10_000;

const TABLE = "rejected_messages";

function ensureTable(meta: Meta): void {
  meta.db.exec(`
    CREATE TABLE IF NOT EXISTS ${TABLE} (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      source TEXT NOT NULL,
      origin TEXT NOT NULL,
      reason TEXT NOT NULL,
      key TEXT,
      value BLOB,
      at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${TABLE}_source ON ${TABLE}(source, id);`);
}

const prepared = new WeakSet<Meta>();

/**
 * Keeps `rejected` durably (one transaction) before it returns, so a source may then
 * acknowledge the input they came from. Keeps at most `KEPT_PER_SOURCE` per source.
 */
export function keepRejected(meta: Meta, rejected: readonly RejectedMessage[]): void {
  if (rejected.length === 0) return;
  if (!prepared.has(meta)) {
    ensureTable(meta);
    prepared.add(meta);
  }
  const insert = meta.db.prepare(
    `INSERT INTO ${TABLE} (source, origin, reason, key, value, at) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const trim = meta.db.prepare(
    `DELETE FROM ${TABLE} WHERE source = ? AND id <= (
       SELECT id FROM ${TABLE} WHERE source = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
  );
  meta.transaction(() => {
    const sources = new Set<string>();
    for (const r of rejected) {
      insert.run(r.source, r.origin, r.reason, r.key, r.value, r.at);
      sources.add(r.source);
    }
    for (const source of sources) trim.run(source, source, KEPT_PER_SOURCE);
  });
}

/** The most recent rejected messages of `source`, newest first. */
export function listRejected(meta: Meta, source: string, limit = 100): RejectedMessage[] {
  if (!prepared.has(meta)) {
    ensureTable(meta);
    prepared.add(meta);
  }
  return meta.db.prepare(
    `SELECT source, origin, reason, key, value, at FROM ${TABLE}
     WHERE source = ? ORDER BY id DESC LIMIT ?`,
  ).all(source, limit).map((row) => ({
    source: String(row.source),
    origin: String(row.origin),
    reason: String(row.reason),
    key: row.key === null ? null : String(row.key),
    value: row.value === null ? null : new Uint8Array(row.value as Uint8Array),
    at: Number(row.at),
  }));
}
