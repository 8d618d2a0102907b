/**
 * `emit: update`: which open windows received events since their last evaluation, and
 * what was last delivered for each, so that only changed rows go out while a window
 * is open, and rows that no longer exist (a session that moved or merged) are deleted
 * downstream. Kept in memory: after a restart the first update of a window starts over.
 */
import { hashString } from "../hash.ts";
import type { Result } from "../types.ts";
import type { Assignment, Span } from "./window.ts";

export class Updates {
  readonly #dirty = new Set<Span>();
  readonly #retired: Span[] = [];
  /** Per open window, the hash of each result key last delivered. */
  readonly #emitted = new Map<Span, Map<string, number>>();

  constructor(readonly window: string) {}

  /** Whether an update round has work. */
  get pending(): boolean {
    return this.#dirty.size > 0 || this.#retired.length > 0;
  }

  /** Notes the windows an event went into, and those it merged away. */
  touched(assignment: Assignment): void {
    for (const window of assignment.windows) this.#dirty.add(window);
    for (const window of assignment.merged) {
      this.#dirty.delete(window);
      this.#retired.push(window);
    }
  }

  /** The window closed: its final results come from the close, not from an update. */
  closing(window: Span): void {
    this.#dirty.delete(window);
  }

  /** Up to `n` windows to evaluate now, with their spans as they are now. */
  take(n: number): [Span, Span][] {
    const out: [Span, Span][] = [];
    for (const window of this.#dirty) {
      if (out.length === n) break;
      this.#dirty.delete(window);
      out.push([window, { start: window.start, end: window.end, key: window.key }]);
    }
    return out;
  }

  /** Deletions for every row delivered for windows merged away since the last call. */
  retiredDeletions(now: number): Result[] {
    const out: Result[] = [];
    for (const window of this.#retired.splice(0)) {
      for (const key of this.#emitted.get(window)?.keys() ?? []) out.push(this.#deletion(key, now));
      this.#emitted.delete(window);
    }
    return out;
  }

  /**
   * Of `results` (the window's rows now), those that differ from what was last
   * delivered, plus deletions for rows that are gone. `final` results all go out.
   */
  diff(window: Span, results: Result[], now: number, final: boolean): Result[] {
    const before = this.#emitted.get(window) ?? new Map<string, number>();
    const after = new Map<string, number>();
    const out: Result[] = [];
    for (const result of results) {
      const hash = hashString(JSON.stringify(result.row));
      after.set(result.key, hash);
      if (!final && before.get(result.key) === hash) continue;
      result._change = { op: before.has(result.key) ? "update" : "insert" };
      out.push(result);
    }
    for (const key of before.keys()) {
      if (!after.has(key)) out.push(this.#deletion(key, now));
    }
    if (final) this.#emitted.delete(window);
    else this.#emitted.set(window, after);
    return out;
  }

  clear(): void {
    this.#dirty.clear();
    this.#retired.length = 0;
  }

  #deletion(key: string, now: number): Result {
    return { name: this.window, key, row: {}, timestamp: now, _change: { op: "delete" } };
  }
}
