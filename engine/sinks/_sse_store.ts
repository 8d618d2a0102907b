/**
 * What an SSE sink remembers, in memory and in its own SQLite file: the current row
 * of every result key, the last `replay` events, and the sequence number of the last
 * event. One transaction per batch keeps the three consistent, so after a restart (or
 * a crash) the snapshot, the replay buffer and the ids carry on where they were.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { openDatabase, transaction } from "../store/sqlite.ts";
import type { Result } from "../types.ts";

/** One event of the stream: `seq` is its id, `name` its event type, `data` the result as JSON. */
export interface StoredEvent {
  seq: number;
  name: string;
  data: string;
}

const J = JSON.stringify;

export class SseStore {
  /** Result set name → result key → row as JSON. */
  readonly state = new Map<string, Map<string, string>>();
  /** Result sets whose whole state the sink holds (seeded, or fed from the start); see `SseSink.carry`. */
  readonly carried = new Set<string>();
  #seq: number;
  readonly #db: DatabaseSync;
  readonly #upsert: StatementSync;
  readonly #remove: StatementSync;
  readonly #event: StatementSync;
  readonly #trim: StatementSync;
  readonly #setSeq: StatementSync;
  readonly #carry: StatementSync;
  readonly #uncarry: StatementSync;

  /**
   * Opens (or creates) the file. A new file's first id is `firstSeq + 1`: the sink
   * passes the creation time in microseconds, so ids of a file that was deleted and
   * created again never fall inside the new one's range.
   */
  constructor(readonly path: string, readonly replay: number, firstSeq: number) {
    this.#db = openDatabase(path);
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS results (
        name TEXT NOT NULL, key TEXT NOT NULL, row TEXT NOT NULL, PRIMARY KEY (name, key)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, name TEXT NOT NULL, data TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS sets (name TEXT PRIMARY KEY);
      INSERT OR IGNORE INTO info (key, value) VALUES ('seq', '${Math.floor(firstSeq)}');`);
    this.#seq = Number(this.#db.prepare("SELECT value FROM info WHERE key = 'seq'").get()!.value);
    for (const row of this.#db.prepare("SELECT name, key, row FROM results").iterate()) {
      this.#rows(String(row.name)).set(String(row.key), String(row.row));
    }
    for (const row of this.#db.prepare("SELECT name FROM sets").iterate()) {
      this.carried.add(String(row.name));
    }
    this.#upsert = this.#db.prepare(
      "INSERT OR REPLACE INTO results (name, key, row) VALUES (?, ?, ?)",
    );
    this.#remove = this.#db.prepare("DELETE FROM results WHERE name = ? AND key = ?");
    this.#event = this.#db.prepare("INSERT INTO events (seq, name, data) VALUES (?, ?, ?)");
    this.#trim = this.#db.prepare("DELETE FROM events WHERE seq <= ?");
    this.#setSeq = this.#db.prepare("UPDATE info SET value = ? WHERE key = 'seq'");
    this.#carry = this.#db.prepare("INSERT OR IGNORE INTO sets (name) VALUES (?)");
    this.#uncarry = this.#db.prepare("DELETE FROM sets WHERE name = ?");
  }

  /** The id of the last event (the snapshot's position). */
  get seq(): number {
    return this.#seq;
  }

  /** The kept events, oldest first. */
  events(): StoredEvent[] {
    return this.#db.prepare("SELECT seq, name, data FROM events ORDER BY seq").all().map((r) => ({
      seq: Number(r.seq),
      name: String(r.name),
      data: String(r.data),
    }));
  }

  /**
   * Applies results and returns the events they make, numbered from `seq + 1`. A
   * result that changes nothing (the same row again, or a delete of an absent key,
   * as when a batch is delivered twice after a crash) makes no event. Memory changes
   * only once the transaction has committed; if it throws, nothing changed.
   */
  apply(results: readonly Result[]): StoredEvent[] {
    const changes = new Map<string, { name: string; key: string; row: string | null }>();
    const events: StoredEvent[] = [];
    let seq = this.#seq;
    for (const result of results) {
      const id = `${result.name}\u0000${result.key}`;
      const current = changes.has(id)
        ? changes.get(id)!.row
        : this.state.get(result.name)?.get(result.key) ?? null;
      const deleted = result._change?.op === "delete";
      const row = deleted ? null : J(result.row);
      if (row === current) continue;
      changes.set(id, { name: result.name, key: result.key, row });
      events.push({ seq: ++seq, name: result.name, data: eventData(result, row) });
    }
    if (events.length === 0) return events;
    const keepFrom = seq - this.replay + 1;
    transaction(this.#db, () => {
      for (const { name, key, row } of changes.values()) {
        if (row === null) this.#remove.run(name, key);
        else this.#upsert.run(name, key, row);
      }
      for (const event of events) {
        if (event.seq >= keepFrom) this.#event.run(event.seq, event.name, event.data);
      }
      this.#trim.run(keepFrom - 1);
      this.#setSeq.run(String(seq));
    });
    for (const { name, key, row } of changes.values()) {
      if (row === null) {
        const rows = this.state.get(name);
        rows?.delete(key);
        if (rows?.size === 0) this.state.delete(name);
      } else {
        this.#rows(name).set(key, row);
      }
    }
    this.#seq = seq;
    return events;
  }

  /** Records which result sets the sink carries from now on (those without rows too). */
  setCarried(names: Iterable<string>): void {
    const wanted = new Set(names);
    transaction(this.#db, () => {
      for (const name of this.carried) if (!wanted.has(name)) this.#uncarry.run(name);
      for (const name of wanted) this.#carry.run(name);
    });
    this.carried.clear();
    for (const name of wanted) this.carried.add(name);
  }

  /** The state as `{"id": "<seq>", "results": {name: {key: row}}}`, names listed included. */
  snapshot(names: Iterable<string>): string {
    const all = new Set([...names, ...this.state.keys()]);
    const sets: string[] = [];
    for (const name of all) {
      const rows: string[] = [];
      for (const [key, row] of this.state.get(name) ?? []) rows.push(`${J(key)}:${row}`);
      sets.push(`${J(name)}:{${rows.join(",")}}`);
    }
    return `{"id":"${this.#seq}","results":{${sets.join(",")}}}`;
  }

  /** Rows held, over every result set. */
  get size(): number {
    let n = 0;
    for (const rows of this.state.values()) n += rows.size;
    return n;
  }

  #rows(name: string): Map<string, string> {
    let rows = this.state.get(name);
    if (!rows) this.state.set(name, rows = new Map());
    return rows;
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}

/** A result as event data: `{name, key, row, timestamp, _change}`, reusing the row's JSON. */
function eventData(result: Result, row: string | null): string {
  const change = result._change ? `,"_change":${J(result._change)}` : "";
  return `{"name":${J(result.name)},"key":${J(result.key)},"row":${row ?? J(result.row)},` +
    `"timestamp":${J(result.timestamp)}${change}}`;
}
