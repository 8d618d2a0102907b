/**
 * Which windows must have closed by a given time: a model of a window definition fed
 * with the same events the engine gets, so that a benchmark can tell a window that is
 * merely slow from one whose close has not happened at all (a close that never ends
 * reports no delay). Windows exist only where an event fell, as in the engine; a window
 * is due at `end + grace` of its time (the event time with `time:`, else the time the
 * event was sent, which the engine's acceptance follows within milliseconds).
 */
import { getPath } from "../engine/paths.ts";
import type { WindowConfig } from "../engine/windows/config.ts";

export class WindowModel {
  readonly name: string;
  readonly topic: string;
  /**
   * Session windows close at a rate that builds up: a key's session ends only once its
   * events stop (Nexmark's bidders stop when they leave the active people).
   */
  readonly session: boolean;
  readonly #config: WindowConfig;
  /** tumbling, sliding: the ends of the windows that received an event. */
  readonly #ends = new Set<number>();
  /** session: per key, the time of its open session's last event. */
  readonly #open = new Map<string | number, number>();
  /** session: due times of sessions a later event of their key ended. */
  readonly #ended: number[] = [];

  constructor(config: WindowConfig, topic: string) {
    this.name = config.name;
    this.topic = topic;
    this.session = config.type === "session";
    this.#config = config;
  }

  /** An event of `topic`, sent at `sentAt` (epoch ms). */
  observe(topic: string, payload: Record<string, unknown>, sentAt: number): void {
    if (topic !== this.topic) return;
    const c = this.#config;
    const time = c.time === undefined ? sentAt : Number(getPath(payload, c.time));
    if (!Number.isFinite(time)) return;
    if (c.type === "tumbling") {
      this.#ends.add(Math.floor(time / c.size) * c.size + c.size);
    } else if (c.type === "sliding") {
      for (let start = Math.floor(time / c.slide) * c.slide; start > time - c.size;) {
        this.#ends.add(start + c.size);
        start -= c.slide;
      }
    } else {
      const key = getPath(payload, c.key) as string | number;
      const last = this.#open.get(key);
      if (last !== undefined && time >= last + c.gap) this.#ended.push(last + c.gap + c.grace);
      if (last === undefined || time > last) this.#open.set(key, time);
    }
  }

  /** How many windows are due (end + grace) at or before `time`. */
  dueBy(time: number): number {
    const c = this.#config;
    let n = 0;
    if (c.type === "session") {
      for (const due of this.#ended) if (due <= time) n++;
      for (const last of this.#open.values()) if (last + c.gap + c.grace <= time) n++;
    } else {
      for (const end of this.#ends) if (end + c.grace <= time) n++;
    }
    return n;
  }
}
