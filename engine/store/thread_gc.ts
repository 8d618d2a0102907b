/**
 * Full garbage collections in the shard and reader threads, sooner than V8 makes them.
 *
 * V8 collects an isolate's old generation in full once it has grown about 8 MB (its
 * minimum growing step) past what the last full collection left. These threads promote
 * only a few KB of garbage a second, so that takes them half an hour or more, and
 * meanwhile their heaps grow (~0.24 MB/min each in the soak), and so do their malloc
 * arenas (~0.14 MiB/min each: native memory that dead objects hold until a full
 * collection): with eight threads, ~2.5 MiB/min of RSS that looked like a leak. With
 * `--expose-gc` (every way of running LiteJoin passes it: the tasks in deno.json, the
 * compiled binary) a thread that has allocated since its last collection makes one
 * every 30 s: a pause of ~5 ms.
 */

/** How often a thread may collect. */
const COLLECT_EVERY_MS = 30_000;

/** Heap growth since the last collection below which a thread counts as idle. */
export const IDLE_BYTES = 512 * 1024;

/** V8's `gc()`, present when the process runs with `--v8-flags=--expose-gc`. */
export function exposedGc(): (() => void) | undefined {
  return (globalThis as { gc?: () => void }).gc;
}

/** Decides, at each tick, whether the heap has grown enough since the last collection. */
export class Collector {
  readonly #gc: () => void;
  readonly #heapUsed: () => number;
  #after: number;

  constructor(gc: () => void, heapUsed: () => number) {
    this.#gc = gc;
    this.#heapUsed = heapUsed;
    this.#after = heapUsed();
  }

  /** Collects unless the thread was idle since the last collection; says whether it did. */
  tick(): boolean {
    if (this.#heapUsed() - this.#after < IDLE_BYTES) return false;
    this.#gc();
    this.#after = this.#heapUsed();
    return true;
  }
}

/**
 * Starts collecting every `COLLECT_EVERY_MS` in this thread, if `gc()` is exposed (the
 * timer does not keep the thread alive). Without it V8 decides alone, as it always may.
 */
export function collectOften(): void {
  const gc = exposedGc();
  if (!gc) return;
  const collector = new Collector(gc, () => Deno.memoryUsage().heapUsed);
  Deno.unrefTimer(setInterval(() => collector.tick(), COLLECT_EVERY_MS));
}
