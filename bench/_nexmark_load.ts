/**
 * Posts the Nexmark stream to an engine's three HTTP sources at a fixed rate: the
 * generator's clock is the wall clock (event `n` is due at `baseTime + n / rate`), and
 * every tick posts what has fallen due, as JSON arrays of at most `batch` events per
 * source, with up to `inFlight` requests under way. A request the engine answers 503
 * (behind) is sent again.
 *
 * What it reports is whether acceptance keeps up with the offered rate: the backlog (events
 * due by now that the engine has not yet accepted, as seconds of the stream) and how much
 * it grew since `mark()`. A steady backlog is the latency of a commit; a growing one is an
 * engine (or a machine) that does not keep up. The time from when each request's first
 * event fell due to the engine's 202 is reported beside.
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
  /** Events due and not yet accepted, in seconds of the stream. */
  backlogS: number;
  /** How much the backlog grew since `mark()`, in seconds of the stream. */
  growthS: number;
  /** From due to accepted, over the requests accepted since `mark()`, ms. */
  acceptP99Ms: number;
  acceptMaxMs: number;
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
  #running = false;
  #loop: Promise<void> | undefined;
  #error: Error | undefined;
  #acceptedTotal = 0;
  #accepted = 0;
  #waits: number[] = [];
  #retried = 0;
  #backlogAtMark = 0;
  #markedAt = performance.now();

  constructor(readonly options: LoadOptions) {
    this.generator = new NexmarkGenerator({
      rate: options.rate,
      baseTime: Date.now(),
      seed: options.seed,
    });
    this.#batch = options.batch ?? 1000;
    this.#inFlight = options.inFlight ?? 64;
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Starts a new measuring period. */
  mark(): void {
    this.#accepted = 0;
    this.#waits = [];
    this.#retried = 0;
    this.#backlogAtMark = this.#backlog();
    this.#markedAt = performance.now();
  }

  /** The period since `mark()`; throws if a request failed for good. */
  period(): LoadPeriod {
    if (this.#error) throw this.#error;
    const waits = [...this.#waits].sort((a, b) => a - b);
    const backlog = this.#backlog();
    return {
      accepted: this.#accepted,
      backlogS: backlog / this.options.rate,
      growthS: (backlog - this.#backlogAtMark) / this.options.rate,
      acceptP99Ms: waits[Math.floor(waits.length * 0.99)] ?? 0,
      acceptMaxMs: waits.at(-1) ?? 0,
      retried: this.#retried,
      seconds: (performance.now() - this.#markedAt) / 1000,
    };
  }

  /** Events due by now (on the generator's clock) that the engine has not accepted. */
  #backlog(): number {
    const due = ((Date.now() - this.generator.options.baseTime) * this.options.rate) / 1000;
    return Math.max(0, Math.floor(due) - this.#acceptedTotal);
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
      this.#acceptedTotal += count;
      this.#waits.push(Date.now() - due);
    })().catch((error) => {
      this.#error ??= error as Error;
    }).finally(() => {
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
