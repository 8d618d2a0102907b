/**
 * What the three window types share: a window is a span of event time `[start, end)`,
 * open until the close frontier passes `end + grace`. A `WindowState` is pure: it
 * knows which windows are open given the events added and the frontiers passed, and
 * nothing about SQL, sinks or wall-clock time.
 */

/** A session key as found in the payload: a non-empty string or a finite number. */
export type SessionKey = string | number;

/** A window. Session windows may grow, move or merge until they close. */
export interface Span {
  /** Epoch milliseconds, inclusive. */
  readonly start: number;
  /** Epoch milliseconds, exclusive. */
  readonly end: number;
  /** The session key (session windows only). */
  readonly key?: SessionKey;
}

/** Where one event went. */
export interface Assignment {
  /** The event missed a window that had already closed; it is late. */
  late: boolean;
  /** The open windows that now hold the event. */
  windows: readonly Span[];
  /** Open windows that stopped existing because they merged into `windows`. */
  merged: readonly Span[];
}

export interface WindowState {
  /** The close frontier: every window with `end + grace` at or before it has closed. */
  readonly closed: number;
  /** How many windows are open. */
  readonly openCount: number;
  /** Adds one event at `time` (epoch ms); session windows need its `key`. */
  add(time: number, key?: SessionKey): Assignment;
  /** The earliest `end + grace` of an open window, or undefined when none is open. */
  nextClose(): number | undefined;
  /**
   * Moves the close frontier to `frontier` and removes the windows it closes,
   * earliest first. From then on, events for those windows are late.
   */
  closeThrough(frontier: number): Span[];
  /**
   * What a restart needs beyond the close frontier to rebuild the open windows, for
   * what changed since the last call: per key id, the starts of its open windows
   * (empty when it has none). Windows aligned to the epoch need none.
   */
  takeStarts(): [string, number[]][];
  /** Marks keys as changed again (their starts could not be saved). */
  markChanged(ids: Iterable<string>): void;
  /** Reopens the windows `takeStarts` reported open, before their events are added again. */
  seed(starts: Iterable<[string, number[]]>): void;
}

export const NO_SPANS: readonly Span[] = Object.freeze([]);
export const LATE: Assignment = Object.freeze({ late: true, windows: NO_SPANS, merged: NO_SPANS });
