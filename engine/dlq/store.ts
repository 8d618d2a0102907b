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
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { openDatabase, type Synchronous, transaction } from "../store/sqlite.ts";
import type { Result } from "../types.ts";
import {
  type Claimed,
  type Entry,
  type EntryFilter,
  type EntryStatus,
  rawText,
  type RejectedInput,
  type Reschedule,
  type Row,
  type SinkStats,
  type Stats,
  toClaimed,
  toEntry,
  where,
} from "./entry.ts";

export type {
  Claimed,
  Entry,
  EntryFilter,
  EntryStatus,
  RejectedInput,
  Reschedule,
  SinkStats,
  Stats,
} from "./entry.ts";
export { STATUSES } from "./entry.ts";

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

export class DlqStore {
  readonly db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  /** Opens (creating if needed) the queue at `path`. */
  constructor(
    readonly path: string,
    opts: { synchronous?: Synchronous; busyTimeoutMs?: number; walAutocheckpoint?: number } = {},
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

  /** Sinks with entries a replay may send (retrying or dead). */
  replayableSinks(): string[] {
    return this.#sql(`SELECT DISTINCT sink FROM entries
      WHERE status IN ('retrying', 'dead') AND sink IS NOT NULL`).all().map((r) => String(r.sink));
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
