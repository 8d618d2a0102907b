/**
 * Posts the Nexmark stream to an engine's three HTTP sources at a fixed rate: the
 * generator's clock is the wall clock (event `n` is due at `baseTime + n / rate`), and
 * every tick posts what has fallen due, as JSON arrays of at most `batch` events per
 * source, with up to `inFlight` requests under way. A request the engine answers 503
 * (behind) is sent again.
 *
 * What it reports is whether acceptance keeps up: for each event, the time from when it
 * fell due to the engine's 202 for its request (`behindMs`: the worst since `mark()`,
 * counting requests still under way and events not yet sent).
 */
import { type NexmarkEvent, NexmarkGenerator } from "./_nexmark_gen.ts";

export interface LoadOptions {
  url: string;
  /** Events per second, all three kinds together. */
  rate: number;
  seed?: number;
  /** Most events of one kind per request. */
  batch?: number;
  /** Most requests under way at once. */
  inFlight?: number;
  /**
   * Post as fast as the engine accepts instead of at `rate` (which then only sets the
   * events' times): for measuring the most it accepts.
   */
  saturate?: boolean;
  /** Sees every event as it is generated (before it is posted). */
  onEvent?: (event: NexmarkEvent) => void;
}

export interface LoadPeriod {
  /** Events the engine accepted since `mark()`. */
  accepted: number;
  /** The worst wait from due to accepted since `mark()`, in ms. */
  behindMs: number;
  /** 503 answers (the engine's writer behind) since `mark()`. */
  retried: number;
  seconds: number;
}

const PATHS = { person: "/persons", auction: "/auctions", bid: "/bids" } as const;

export class NexmarkLoad {
  readonly generator: NexmarkGenerator;
  readonly #batch: number;
  readonly #inFlight: number;
  readonly #requests = new Set<Promise<void>>();
  /** Due times of the first event of each request under way. */
  readonly #pendingDue = new Set<{ due: number }>();
  #running = false;
  #loop: Promise<void> | undefined;
  #error: Error | undefined;
  #accepted = 0;
  #behind = 0;
  #retried = 0;
  #markedAt = performance.now();

  constructor(readonly options: LoadOptions) {
    this.generator = new NexmarkGenerator({
      rate: options.rate,
      baseTime: Date.now(),
      seed: options.seed,
    });
    this.#batch = options.batch ?? 1000;
    this.#inFlight = options.inFlight ?? 16;
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Starts a new measuring period. */
  mark(): void {
    this.#accepted = 0;
    this.#behind = 0;
    this.#retried = 0;
    this.#markedAt = performance.now();
  }

  /** The period since `mark()`; throws if a request failed for good. */
  period(): LoadPeriod {
    if (this.#error) throw this.#error;
    const now = Date.now();
    // Events that fell due and are not yet sent or not yet accepted are waiting too.
    let oldest = this.generator.timeOf(this.generator.next);
    for (const { due } of this.#pendingDue) oldest = Math.min(oldest, due);
    return {
      accepted: this.#accepted,
      behindMs: Math.max(this.#behind, now - oldest),
      retried: this.#retried,
      seconds: (performance.now() - this.#markedAt) / 1000,
    };
  }

  /** Stops generating (at once: requests under way carry on). */
  halt(): void {
    this.#running = false;
  }

  /** Stops generating and waits for the requests under way. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await Promise.all(this.#requests);
    if (this.#error) throw this.#error;
  }

  async #run(): Promise<void> {
    const tickMs = Math.min(50, 1e6 / this.options.rate);
    while (this.#running && !this.#error) {
      const started = performance.now();
      const byKind: Record<NexmarkEvent["kind"], { due: number; events: unknown[] }[]> = {
        person: [],
        auction: [],
        bid: [],
      };
      const events = this.options.saturate
        ? Array.from({ length: this.#batch }, () => this.generator.event())
        : this.generator.until(Date.now());
      for (const e of events) {
        this.options.onEvent?.(e);
        const bodies = byKind[e.kind];
        let last = bodies.at(-1);
        if (!last || last.events.length >= this.#batch) {
          bodies.push(last = { due: e.event.dateTime, events: [] });
        }
        last.events.push(e.event);
      }
      for (const kind of ["bid", "auction", "person"] as const) {
        for (const body of byKind[kind]) {
          while (this.#requests.size >= this.#inFlight) await Promise.race(this.#requests);
          this.#send(PATHS[kind], body.due, JSON.stringify(body.events), body.events.length);
        }
      }
      const wait = tickMs - (performance.now() - started);
      if (!this.options.saturate && wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  #send(path: string, due: number, body: string, count: number): void {
    const pending = { due };
    this.#pendingDue.add(pending);
    const request = (async () => {
      for (let attempt = 0;; attempt++) {
        const response = await fetch(`${this.options.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        const text = await response.text();
        if (response.status === 202) break;
        if (response.status !== 503 || attempt >= 100) {
          throw new Error(`POST ${path} answered ${response.status}: ${text.slice(0, 200)}`);
        }
        this.#retried++;
        await new Promise((r) => setTimeout(r, 50));
      }
      this.#accepted += count;
      this.#behind = Math.max(this.#behind, Date.now() - due);
    })().catch((error) => {
      this.#error ??= error as Error;
    }).finally(() => {
      this.#pendingDue.delete(pending);
      this.#requests.delete(request);
    });
    this.#requests.add(request);
  }
}

/** Loads q13's side input: 10,000 rows {key, value}. */
export async function loadSideInput(url: string): Promise<void> {
  const rows = Array.from({ length: 10_000 }, (_, key) => ({ key, value: `side-${key}` }));
  for (let i = 0; i < rows.length; i += 2000) {
    const response = await fetch(`${url}/side_input`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(rows.slice(i, i + 2000)),
    });
    const text = await response.text();
    if (response.status !== 202) {
      throw new Error(`loading the side input: ${response.status} ${text.slice(0, 200)}`);
    }
  }
}
