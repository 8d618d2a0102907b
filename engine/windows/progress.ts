/**
 * What a window has closed, kept in `meta.db`: the close frontier (every window whose
 * end + grace is at or before it has been delivered), the writes seen when it was
 * decided, the event-time watermark, and the starts of open sessions. It is written
 * in one transaction after the windows it closes are delivered, so a restart
 * re-evaluates exactly the windows whose delivery was not recorded.
 */
import type { StatementSync } from "node:sqlite";
import type { Meta } from "../store/meta.ts";

/** Event time `time` was seen at wall-clock `wall`; event time advances with the wall clock from there. */
export interface Watermark {
  time: number;
  wall: number;
}

export interface Progress {
  /** The close frontier; -Infinity before the first close. */
  closed: number;
  /** Per shard, the write seq up to which events had been seen when `closed` was decided. */
  seqs: number[];
  watermark?: Watermark;
  /** Per session key id, the starts of its open sessions. */
  starts: Map<string, number[]>;
  /** The window's definition changed since the progress was recorded. */
  redefined: boolean;
}

export class WindowProgress {
  readonly #scope: string;
  readonly #upsert: StatementSync;
  readonly #remove: StatementSync;
  readonly #all: StatementSync;
  readonly #clear: StatementSync;

  /** `definition` identifies the window's shape; saved session starts of another shape are dropped. */
  constructor(readonly meta: Meta, readonly window: string, readonly definition: string) {
    this.#scope = `window:${window}`;
    meta.db.exec(`
      CREATE TABLE IF NOT EXISTS window_sessions (
        window_name TEXT NOT NULL,
        key TEXT NOT NULL,
        starts TEXT NOT NULL,
        PRIMARY KEY (window_name, key)
      ) WITHOUT ROWID;`);
    this.#upsert = meta.db.prepare(
      "INSERT OR REPLACE INTO window_sessions (window_name, key, starts) VALUES (?, ?, ?)",
    );
    this.#remove = meta.db.prepare("DELETE FROM window_sessions WHERE window_name = ? AND key = ?");
    this.#all = meta.db.prepare("SELECT key, starts FROM window_sessions WHERE window_name = ?");
    this.#clear = meta.db.prepare("DELETE FROM window_sessions WHERE window_name = ?");
  }

  load(shardCount: number): Progress {
    const get = (key: string) => this.meta.get(this.#scope, key);
    const closed = get("closed");
    const seqs = JSON.parse(get("seqs") ?? "[]") as number[];
    const watermark = get("watermark");
    const recorded = get("definition");
    const redefined = recorded !== undefined && recorded !== this.definition;
    const starts = new Map<string, number[]>();
    if (redefined) {
      this.meta.transaction(() => {
        this.#clear.run(this.window);
        this.meta.set(this.#scope, "definition", this.definition);
      });
    } else {
      for (const row of this.#all.iterate(this.window)) {
        starts.set(String(row.key), JSON.parse(String(row.starts)));
      }
    }
    return {
      closed: closed === undefined ? -Infinity : Number(closed),
      seqs: Array.from({ length: shardCount }, (_, i) => seqs[i] ?? 0),
      watermark: watermark ? JSON.parse(watermark) : undefined,
      starts,
      redefined,
    };
  }

  /** Records a close frontier and what goes with it, atomically. */
  record(
    closed: number,
    seqs: readonly number[],
    watermark: Watermark | undefined,
    starts: Iterable<[string, number[]]>,
  ): void {
    this.meta.transaction(() => {
      this.meta.set(this.#scope, "closed", String(closed));
      this.meta.set(this.#scope, "seqs", JSON.stringify(seqs));
      this.meta.set(this.#scope, "definition", this.definition);
      if (watermark) this.meta.set(this.#scope, "watermark", JSON.stringify(watermark));
      for (const [key, list] of starts) {
        if (list.length) this.#upsert.run(this.window, key, JSON.stringify(list));
        else this.#remove.run(this.window, key);
      }
    });
  }
}
