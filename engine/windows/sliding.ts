/**
 * Sliding (hopping) windows: every `slide` milliseconds a window of `size` starts,
 * aligned to the Unix epoch, so an event belongs to about size/slide windows. Only
 * windows that received an event exist.
 */
import { MinHeap } from "./_heap.ts";
import { type Assignment, LATE, NO_SPANS, type Span, type WindowState } from "./window.ts";

class Window implements Span {
  constructor(readonly start: number, readonly end: number) {}
}

export class SlidingWindows implements WindowState {
  readonly #open = new Map<number, Window>();
  readonly #heap = new MinHeap<Window>();
  #closed = -Infinity;

  constructor(readonly size: number, readonly slide: number, readonly grace: number) {
    if (!(size > 0 && slide > 0 && slide <= size)) {
      throw new RangeError(`window size ${size} and slide ${slide}: need 0 < slide <= size`);
    }
  }

  get closed(): number {
    return this.#closed;
  }

  get openCount(): number {
    return this.#open.size;
  }

  add(time: number): Assignment {
    let late = false;
    let windows: Span[] | undefined;
    for (let start = Math.floor(time / this.slide) * this.slide; start > time - this.size;) {
      const end = start + this.size;
      if (end + this.grace <= this.#closed) {
        late = true;
      } else {
        let window = this.#open.get(start);
        if (!window) {
          window = new Window(start, end);
          this.#open.set(start, window);
          this.#heap.push(window, end + this.grace);
        }
        (windows ??= []).push(window);
      }
      start -= this.slide;
    }
    if (!windows) return LATE;
    return { late, windows, merged: NO_SPANS };
  }

  nextClose(): number | undefined {
    return this.#heap.peekAt();
  }

  closeThrough(frontier: number): Span[] {
    if (frontier > this.#closed) this.#closed = frontier;
    const out: Span[] = [];
    while (this.#heap.size && this.#heap.peekAt()! <= this.#closed) {
      const window = this.#heap.pop()!;
      this.#open.delete(window.start);
      out.push(window);
    }
    return out;
  }

  /** Aligned to the epoch, the windows are known from their events alone. */
  takeStarts(): [string, number[]][] {
    return [];
  }

  markChanged(): void {}

  seed(): void {}
}
