/**
 * Session windows: per key, a session is a run of events each less than `gap` after
 * the one before, and spans `[first event, last event + gap)`. An event that bridges
 * two sessions merges them. With `maxDuration`, a session never spans more than that:
 * an event that would stretch it further starts the next session, and a session ends
 * where the next one of its key starts, so sessions of one key never overlap and the
 * window SQL sees each event in exactly one of them.
 */
import { MinHeap } from "./_heap.ts";
import {
  type Assignment,
  LATE,
  NO_SPANS,
  type SessionKey,
  type Span,
  type WindowState,
} from "./window.ts";

class Session implements Span {
  /** Time of the latest event. */
  last: number;
  end = 0;
  count = 1;
  /** The priority of this session's live heap entry: never later than its close. */
  armed = Infinity;
  alive = true;

  constructor(readonly key: SessionKey, readonly id: string, public start: number) {
    this.last = start;
  }
}

/** A session key as a map key: strings as they are, numbers marked so `"1"` ≠ `1`. */
export function sessionId(key: SessionKey): string {
  return typeof key === "number" ? `\u0000${key}` : key;
}

export function sessionKeyOf(id: string): SessionKey {
  return id.startsWith("\u0000") ? Number(id.slice(1)) : id;
}

/** A payload value usable as a session key, or undefined. */
export function asSessionKey(value: unknown): SessionKey | undefined {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  return undefined;
}

export class SessionWindows implements WindowState {
  /** Open sessions per key, ordered by start. */
  readonly #byKey = new Map<string, Session[]>();
  readonly #heap = new MinHeap<Session>();
  /** Keys whose list of session starts changed since `takeStarts`. */
  readonly #changed = new Set<string>();
  #closed = -Infinity;
  #count = 0;
  readonly maxDuration: number;

  constructor(readonly gap: number, maxDuration: number | undefined, readonly grace: number) {
    if (!(gap > 0)) throw new RangeError(`session gap ${gap}: must be positive`);
    this.maxDuration = maxDuration || Infinity;
  }

  get closed(): number {
    return this.#closed;
  }

  get openCount(): number {
    return this.#count;
  }

  add(time: number, key?: SessionKey): Assignment {
    if (key === undefined) throw new TypeError("a session window needs a key for each event");
    const id = sessionId(key);
    const list = this.#byKey.get(id);
    let i = 0;
    if (list) {
      i = list.length;
      while (i > 0 && list[i - 1].start > time) i--;
    }
    const prev = list?.[i - 1];
    if (prev && time < prev.end) {
      // Inside an open session: never late, even behind the frontier.
      prev.count++;
      if (time <= prev.last) return { late: false, windows: [prev], merged: NO_SPANS };
      return { late: false, windows: [prev], merged: this.#extend(list!, i - 1, time) };
    }
    if (time < this.#closed - this.grace) return LATE;
    const next = list?.[i];
    if (next && next.start - time < this.gap && next.last - time < this.maxDuration) {
      next.start = time;
      next.count++;
      this.#setEnd(next, list![i + 1]);
      this.#changed.add(id);
      return { late: false, windows: [next], merged: NO_SPANS };
    }
    const session = new Session(key, id, time);
    this.#setEnd(session, next);
    if (list) list.splice(i, 0, session);
    else this.#byKey.set(id, [session]);
    this.#count++;
    this.#changed.add(id);
    return { late: false, windows: [session], merged: NO_SPANS };
  }

  /** Moves the session at `i` forward to `time`, merging the next one if `time` bridges them. */
  #extend(list: Session[], i: number, time: number): readonly Span[] {
    const session = list[i];
    session.last = time;
    const next = list[i + 1];
    let merged = NO_SPANS;
    if (
      next && Math.min(time + this.gap, session.start + this.maxDuration) > next.start &&
      next.last - session.start < this.maxDuration
    ) {
      session.last = next.last;
      session.count += next.count;
      next.alive = false;
      list.splice(i + 1, 1);
      this.#count--;
      this.#changed.add(session.id);
      merged = [next];
    }
    this.#setEnd(session, list[i + 1]);
    return merged;
  }

  #setEnd(session: Session, next: Session | undefined): void {
    session.end = Math.min(
      session.last + this.gap,
      session.start + this.maxDuration,
      next?.start ?? Infinity,
    );
    const close = session.end + this.grace;
    if (close < session.armed) {
      session.armed = close;
      this.#heap.push(session, close);
    }
  }

  nextClose(): number | undefined {
    for (;;) {
      const top = this.#heap.peek();
      if (!top) return undefined;
      const at = this.#heap.peekAt()!;
      if (!top.alive || at !== top.armed) {
        this.#heap.pop();
        continue;
      }
      const close = top.end + this.grace;
      if (close === at) return at;
      // The session grew since it was armed: re-arm it at its real close.
      this.#heap.pop();
      top.armed = close;
      this.#heap.push(top, close);
    }
  }

  closeThrough(frontier: number): Span[] {
    if (frontier > this.#closed) this.#closed = frontier;
    const out: Span[] = [];
    for (let at = this.nextClose(); at !== undefined && at <= this.#closed; at = this.nextClose()) {
      const session = this.#heap.pop()!;
      session.alive = false;
      const list = this.#byKey.get(session.id)!;
      list.splice(list.indexOf(session), 1);
      if (list.length === 0) this.#byKey.delete(session.id);
      this.#count--;
      this.#changed.add(session.id);
      out.push(session);
    }
    return out;
  }

  /**
   * The keys whose open sessions started or ended since the last call, each with the
   * starts of its open sessions (empty when it has none). With the close frontier,
   * this is all a restart needs to rebuild the sessions from the topic.
   */
  takeStarts(): [string, number[]][] {
    const out: [string, number[]][] = [];
    for (const id of this.#changed) {
      out.push([id, this.#byKey.get(id)?.map((s) => s.start) ?? []]);
    }
    this.#changed.clear();
    return out;
  }

  /** Marks keys as changed again (their starts could not be saved). */
  markChanged(ids: Iterable<string>): void {
    for (const id of ids) this.#changed.add(id);
  }

  /**
   * Reopens sessions known to be open at `starts` (per key id), before their events
   * are added again in time order. Events behind the frontier that fall in them are
   * then accepted, as they were before the restart.
   */
  seed(starts: Iterable<[string, number[]]>): void {
    for (const [id, list] of starts) {
      const sessions = [...new Set(list)].sort((a, b) => a - b).map((start) => {
        const session = new Session(sessionKeyOf(id), id, start);
        session.count = 0;
        return session;
      });
      if (sessions.length === 0) continue;
      this.#byKey.set(id, sessions);
      this.#count += sessions.length;
      sessions.forEach((s, i) => this.#setEnd(s, sessions[i + 1]));
    }
  }
}
