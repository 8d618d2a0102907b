/**
 * `dlq.db`: one row per result that a sink could not deliver, and one per input that a
 * source could not store. Plain SQLite in WAL mode with a busy timeout, so that the
 * engine, `litejoin dlq` and Litestream can share it.
 *
 * Rows are sent by whoever *claims* them first: a claim sets a lease (`lease_owner`,
 * `lease_until`) in one write transaction, and only the holder of a lease records the
 * outcome of a send. The engine's retry worker and a `litejoin dlq replay` running in
 * another process therefore never send one entry twice, unless a holder dies mid-send
 * and its lease runs out (at-least-once, never silently dropped).
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { openDatabase, type Synchronous, transaction } from "../store/sqlite.ts";
import type { Result } from "../types.ts";

/**
 * `retrying`: waiting for its next attempt. `dead`: attempts exhausted or permanently
 * refused; only a replay sends it again. `delivered`: sent (pruned later).
 * `rejected`: an input a source could not store; it is shown, never sent.
 */
export type EntryStatus = "retrying" | "dead" | "delivered" | "rejected";
export const STATUSES: readonly EntryStatus[] = ["retrying", "dead", "delivered", "rejected"];

/** One row of the dead-letter queue, as `litejoin dlq` and the control socket show it. */
export interface Entry {
  id: number;
  /** The sink that failed; null for a rejected input. */
  sink: string | null;
  /** The join or window that produced the result, or the source that rejected the input. */
  source: string;
  /** The result key (or the input's key when the source knew it). */
  key: string | null;
  /** The whole result `{name, key, row, timestamp, _change}`, or `{raw, ...detail}` for an input. */
  payload: unknown;
  /** The last error (or why the input was rejected). */
  error: string;
  /** Failed attempts so far; the inline attempts before the entry was written count as one. */
  attempts: number;
  /** Epoch milliseconds. */
  first_failed_at: number;
  last_failed_at: number;
  /** When the retry worker sends it next; null unless `retrying`. */
  next_attempt_at: number | null;
  status: EntryStatus;
  delivered_at: number | null;
  /** Delivered means "not sent, because a newer result for the same key was delivered". */
  superseded: boolean;
}

/** An entry held under a lease, ready to send. */
export interface Claimed {
  id: number;
  sink: string;
  source: string;
  key: string;
  result: Result;
  attempts: number;
  status: "retrying" | "dead";
}

/** What a source hands over for an input it could not store. */
export interface RejectedInput {
  /** The source's name. */
  source: string;
  /** Why, in one line: `not JSON: Unexpected token } at position 12`, `no key at customer.id`. */
  reason: string;
  /** The input as received. Bytes that are not UTF-8 are kept as base64. */
  raw: string | Uint8Array;
  /** The input's key, when the source knows one (a Kafka message key). */
  key?: string;
  /** Where it came from, e.g. `{topic, partition, offset}` or `{url, index}`. */
  detail?: Record<string, unknown>;
}

export interface EntryFilter {
  id?: number;
  sink?: string;
  status?: EntryStatus;
  source?: string;
}

export interface SinkStats {
  retrying: number;
  dead: number;
  delivered: number;
  /** The first failure of the oldest entry not yet delivered (epoch ms), or null. */
  oldest_failed_at: number | null;
}

export interface Stats {
  /** Entries that need attention: retrying, dead and rejected (delivered ones excluded). */
  total: number;
  by_sink: Record<string, SinkStats>;
  rejected: Record<string, number>;
}

/** How a failed attempt changes an entry: its new status and next attempt time. */
export type Reschedule = (entry: { attempts: number; status: "retrying" | "dead" }) => {
  status: "retrying" | "dead";
  next_attempt_at: number | null;
};

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sink TEXT,
  source TEXT NOT NULL,
  key TEXT,
  payload TEXT NOT NULL,
  error TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  first_failed_at INTEGER NOT NULL,
  last_failed_at INTEGER NOT NULL,
  next_attempt_at INTEGER,
  status TEXT NOT NULL CHECK (status IN ('retrying', 'dead', 'delivered', 'rejected')),
  lease_owner TEXT,
  lease_until INTEGER,
  delivered_at INTEGER,
  superseded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entries_due ON entries (status, sink, next_attempt_at);
CREATE INDEX IF NOT EXISTS entries_key ON entries (sink, source, key, id);
`;

const COLUMNS = `id, sink, source, key, payload, error, attempts, first_failed_at, last_failed_at,
  next_attempt_at, status, delivered_at, superseded`;

type Row = Record<string, SQLInputValue>;

function toEntry(row: Row): Entry {
  return {
    id: Number(row.id),
    sink: row.sink === null ? null : String(row.sink),
    source: String(row.source),
    key: row.key === null ? null : String(row.key),
    payload: JSON.parse(String(row.payload)),
    error: String(row.error),
    attempts: Number(row.attempts),
    first_failed_at: Number(row.first_failed_at),
    last_failed_at: Number(row.last_failed_at),
    next_attempt_at: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
    status: String(row.status) as EntryStatus,
    delivered_at: row.delivered_at === null ? null : Number(row.delivered_at),
    superseded: Number(row.superseded) === 1,
  };
}

function toClaimed(row: Row): Claimed {
  return {
    id: Number(row.id),
    sink: String(row.sink),
    source: String(row.source),
    key: String(row.key),
    result: JSON.parse(String(row.payload)) as Result,
    attempts: Number(row.attempts),
    status: String(row.status) as "retrying" | "dead",
  };
}

function where(filter: EntryFilter): { sql: string; params: SQLInputValue[] } {
  const clauses: string[] = [];
  const params: SQLInputValue[] = [];
  if (filter.id !== undefined) clauses.push("id = ?"), params.push(filter.id);
  if (filter.sink !== undefined) clauses.push("sink = ?"), params.push(filter.sink);
  if (filter.status !== undefined) clauses.push("status = ?"), params.push(filter.status);
  if (filter.source !== undefined) clauses.push("source = ?"), params.push(filter.source);
  return { sql: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function rawText(raw: string | Uint8Array): { raw: string; encoding?: "base64" } {
  if (typeof raw === "string") return { raw };
  try {
    return { raw: UTF8.decode(raw) };
  } catch {
    let binary = "";
    for (let i = 0; i < raw.length; i += 0x8000) {
      binary += String.fromCharCode(...raw.subarray(i, i + 0x8000));
    }
    return { raw: btoa(binary), encoding: "base64" };
  }
}

export class DlqStore {
  readonly db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  /** Opens (creating if needed) the queue at `path`. */
  constructor(
    readonly path: string,
    opts: { synchronous?: Synchronous; busyTimeoutMs?: number } = {},
  ) {
    this.db = openDatabase(path, opts);
    const version = Number(this.db.prepare("PRAGMA user_version").get()!.user_version);
    if (version > SCHEMA_VERSION) {
      this.db.close();
      throw new Error(
        `${path} was written by a newer litejoin (DLQ format ${version}); use that version`,
      );
    }
    transaction(this.db, () => {
      this.db.exec(SCHEMA);
      this.db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    });
  }

  #sql(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) this.#statements.set(sql, statement = this.db.prepare(sql));
    return statement;
  }

  /**
   * Writes one entry per result, in order, in one transaction; durable when it returns.
   * Returns the new ids.
   */
  add(
    sink: string,
    results: readonly Result[],
    error: string,
    now: number,
    status: "retrying" | "dead",
    nextAttemptAt: number | null,
  ): number[] {
    const insert = this.#sql(`INSERT INTO entries
      (sink, source, key, payload, error, attempts, first_failed_at, last_failed_at, next_attempt_at, status)
      VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`);
    return transaction(this.db, () =>
      results.map((r) =>
        Number(
          insert.run(
            sink,
            r.name,
            r.key,
            JSON.stringify(r),
            error,
            now,
            now,
            status === "retrying" ? nextAttemptAt : null,
            status,
          ).lastInsertRowid,
        )
      ));
  }

  /** Keeps an input a source could not store; durable when it returns. */
  reject(input: RejectedInput, now: number): number {
    const payload = { ...input.detail, ...rawText(input.raw) };
    return Number(
      this.#sql(`INSERT INTO entries
        (sink, source, key, payload, error, attempts, first_failed_at, last_failed_at, status)
        VALUES (NULL, ?, ?, ?, ?, 0, ?, ?, 'rejected')`).run(
        input.source,
        input.key ?? null,
        JSON.stringify(payload),
        input.reason,
        now,
        now,
      ).lastInsertRowid,
    );
  }

  /**
   * Leases up to `limit` entries of `sink` that are `retrying` and due at `now`, longest
   * due first, returned in id order. An entry leased by someone else is not returned
   * until its lease runs out.
   */
  claimDue(sink: string, now: number, limit: number, owner: string, leaseMs: number): Claimed[] {
    return transaction(this.db, () =>
      this.#sql(`UPDATE entries SET lease_owner = ?, lease_until = ?
        WHERE id IN (SELECT id FROM entries
          WHERE status = 'retrying' AND sink = ? AND next_attempt_at <= ?
            AND (lease_until IS NULL OR lease_until <= ?)
          ORDER BY next_attempt_at, id LIMIT ?)
        RETURNING *`).all(owner, now + leaseMs, sink, now, now, limit)
        .map((r) => toClaimed(r as Row))
        .sort((a, b) => a.id - b.id));
  }

  /** Leases those of `ids` that are `retrying` or `dead` and not leased by someone else. */
  claimIds(ids: readonly number[], now: number, owner: string, leaseMs: number): Claimed[] {
    if (ids.length === 0) return [];
    return transaction(
      this.db,
      () =>
        this.#sql(`UPDATE entries SET lease_owner = ?, lease_until = ?
        WHERE id IN (SELECT value FROM json_each(?))
          AND status IN ('retrying', 'dead') AND sink IS NOT NULL
          AND (lease_until IS NULL OR lease_until <= ? OR lease_owner = ?)
        RETURNING *`).all(owner, now + leaseMs, JSON.stringify(ids), now, owner)
          .map((r) => toClaimed(r as Row))
          .sort((a, b) => a.id - b.id),
    );
  }

  /** Ids of entries matching `filter` that a replay may send (retrying or dead), oldest first. */
  replayable(filter: EntryFilter): number[] {
    const w = where(filter);
    const sql = `SELECT id FROM entries ${w.sql ? w.sql + " AND" : "WHERE"}
      status IN ('retrying', 'dead') AND sink IS NOT NULL ORDER BY id`;
    return this.db.prepare(sql).all(...w.params).map((r) => Number(r.id));
  }

  /**
   * Which of `ids` are still leased by `owner` and not delivered: call right before
   * sending, because a newer result for the same key may have been delivered since the
   * claim (then the entry is delivered, superseded, and must not be sent).
   */
  stillHeld(ids: readonly number[], owner: string): Set<number> {
    if (ids.length === 0) return new Set();
    // `+status` keeps SQLite looking entries up by id rather than scanning by status.
    return new Set(
      this.#sql(`SELECT id FROM entries WHERE id IN (SELECT value FROM json_each(?))
        AND lease_owner = ? AND +status IN ('retrying', 'dead')`).all(JSON.stringify(ids), owner)
        .map((r) => Number(r.id)),
    );
  }

  /**
   * Records that `entries` were sent, and marks older undelivered entries of the same
   * sink and key as delivered (superseded): they must never overwrite what was sent.
   */
  delivered(sink: string, entries: readonly Claimed[], now: number, owner: string): void {
    const done = this.#sql(`UPDATE entries SET status = 'delivered', delivered_at = ?,
      next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL
      WHERE id IN (SELECT value FROM json_each(?)) AND lease_owner = ?`);
    const supersede = this.#sql(`UPDATE entries SET status = 'delivered', delivered_at = ?,
      next_attempt_at = NULL, superseded = 1
      WHERE sink = ? AND source = ? AND key = ? AND id < ? AND status IN ('retrying', 'dead')`);
    transaction(this.db, () => {
      done.run(now, JSON.stringify(entries.map((e) => e.id)), owner);
      for (const e of entries) supersede.run(now, sink, e.source, e.key, e.id);
    });
  }

  /**
   * A newer result for each (source, key) was delivered to `sink` outside the queue:
   * every undelivered entry for it is superseded. Returns how many were.
   */
  supersede(sink: string, keys: readonly { source: string; key: string }[], now: number): number {
    const statement = this.#sql(`UPDATE entries SET status = 'delivered', delivered_at = ?,
      next_attempt_at = NULL, superseded = 1
      WHERE sink = ? AND source = ? AND key = ? AND status IN ('retrying', 'dead')`);
    return transaction(this.db, () => {
      let n = 0;
      for (const k of keys) n += Number(statement.run(now, sink, k.source, k.key).changes);
      return n;
    });
  }

  /** Records a failed send of `ids` held by `owner`, and releases them. */
  failed(
    ids: readonly number[],
    owner: string,
    error: string,
    now: number,
    reschedule: Reschedule,
  ): { dead: number } {
    const read = this.#sql(
      "SELECT attempts, status FROM entries WHERE id = ? AND lease_owner = ? AND status IN ('retrying', 'dead')",
    );
    const write = this.#sql(`UPDATE entries SET attempts = ?, status = ?, next_attempt_at = ?,
      error = ?, last_failed_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?`);
    return transaction(this.db, () => {
      let dead = 0;
      for (const id of ids) {
        const row = read.get(id, owner);
        if (!row) continue;
        const attempts = Number(row.attempts) + 1;
        const next = reschedule({ attempts, status: row.status as "retrying" | "dead" });
        if (next.status === "dead") dead++;
        write.run(attempts, next.status, next.next_attempt_at, error, now, id);
      }
      return { dead };
    });
  }

  /** Gives up the leases `owner` holds on `ids` without recording an attempt. */
  release(ids: readonly number[], owner: string): void {
    const statement = this.#sql(
      "UPDATE entries SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
    );
    transaction(this.db, () => {
      for (const id of ids) statement.run(id, owner);
    });
  }

  /** Releases every lease whose owner starts with `prefix` (a previous engine that died). */
  releaseAll(prefix: string): number {
    return Number(
      this.#sql(`UPDATE entries SET lease_owner = NULL, lease_until = NULL
        WHERE lease_owner LIKE ? ESCAPE '\\'`).run(prefix.replace(/[%_\\]/g, "\\$&") + "%")
        .changes,
    );
  }

  /** Per sink with `retrying` entries, the earliest time one becomes due (or its lease ends). */
  nextDue(): Map<string, number> {
    return new Map(
      this.#sql(`SELECT sink, min(max(next_attempt_at, coalesce(lease_until, 0))) AS due
        FROM entries WHERE status = 'retrying' GROUP BY sink`).all()
        .map((r) => [String(r.sink), Number(r.due)]),
    );
  }

  /** Every (source, key) of `sink` with an entry not yet delivered. */
  undeliveredKeys(sink: string): { name: string; key: string }[] {
    return this.#sql(`SELECT DISTINCT source, key FROM entries
      WHERE sink = ? AND status IN ('retrying', 'dead')`).all(sink)
      .map((r) => ({ name: String(r.source), key: String(r.key) }));
  }

  get(id: number): Entry | undefined {
    const row = this.#sql(`SELECT ${COLUMNS} FROM entries WHERE id = ?`).get(id);
    return row ? toEntry(row as Row) : undefined;
  }

  /** Entries matching `filter`, by id (ascending unless `order` is desc). */
  list(
    filter: EntryFilter,
    page: { limit: number; offset: number; order?: "asc" | "desc" },
  ): Entry[] {
    const w = where(filter);
    const order = page.order === "desc" ? "DESC" : "ASC";
    return this.db.prepare(
      `SELECT ${COLUMNS} FROM entries ${w.sql} ORDER BY id ${order} LIMIT ? OFFSET ?`,
    ).all(...w.params, page.limit, page.offset).map((r) => toEntry(r as Row));
  }

  count(filter: EntryFilter): number {
    const w = where(filter);
    return Number(
      this.db.prepare(`SELECT count(*) AS n FROM entries ${w.sql}`).get(...w.params)!.n,
    );
  }

  /** Counts per sink and status, and rejected inputs per source. */
  stats(sinks: readonly string[] = []): Stats {
    const bySink: Record<string, SinkStats> = {};
    const blank = (): SinkStats => ({ retrying: 0, dead: 0, delivered: 0, oldest_failed_at: null });
    for (const sink of sinks) bySink[sink] = blank();
    const rejected: Record<string, number> = {};
    let total = 0;
    const rows = this.#sql(`SELECT sink, source, status, count(*) AS n,
      min(first_failed_at) AS oldest FROM entries GROUP BY sink, source, status`).all();
    for (const row of rows) {
      const status = String(row.status) as EntryStatus;
      const n = Number(row.n);
      if (status !== "delivered") total += n;
      if (status === "rejected") {
        rejected[String(row.source)] = (rejected[String(row.source)] ?? 0) + n;
        continue;
      }
      const s = bySink[String(row.sink)] ??= blank();
      s[status] += n;
      if (status !== "delivered") {
        const oldest = Number(row.oldest);
        s.oldest_failed_at = s.oldest_failed_at === null
          ? oldest
          : Math.min(s.oldest_failed_at, oldest);
      }
    }
    return { total, by_sink: bySink, rejected };
  }

  /** Deletes the entries matching `filter`; returns how many. */
  purge(filter: EntryFilter): number {
    const w = where(filter);
    return transaction(
      this.db,
      () => Number(this.db.prepare(`DELETE FROM entries ${w.sql}`).run(...w.params).changes),
    );
  }

  /** Deletes entries delivered before `before`; returns how many. */
  prune(before: number): number {
    return Number(
      this.#sql("DELETE FROM entries WHERE status = 'delivered' AND delivered_at < ?").run(before)
        .changes,
    );
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
