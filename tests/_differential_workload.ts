/**
 * The seeded random workload of the differential test: a model of what each topic should
 * hold, changed in waves of inserts, updates and deletes, and a REST endpoint serving
 * that model to the engine's API sources.
 *
 * The HTTP source only inserts and updates, so deletes come from API sources (with
 * `deletes: true`) polling the model of `orders`, `customers` and `readings`: a key
 * dropped from the model is deleted by the next poll. The HTTP writes of `orders` and
 * `readings` come back through them too, as the same payload (or, when a poll races an
 * HTTP post, the version before it, which the next poll corrects), so those topics get
 * two writers whose commits interleave.
 */
export type Payload = Record<string, unknown> & { id: string };

/** Seeded random numbers (mulberry32): one seed, one sequence. */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The topics the test posts to over HTTP. */
export type HttpTopic = "orders" | "clicks" | "readings";
/** The topics whose API source polls the model (and so deletes what it drops). */
export const API_TOPICS = ["orders", "customers", "readings"] as const;
export type ApiTopic = typeof API_TOPICS[number];

export interface Post {
  topic: HttpTopic;
  messages: Payload[];
}

/** Event time of round 0's readings; each round is far beyond the previous one's windows. */
export const EVENT_BASE = Date.UTC(2024, 0, 1);
export const ROUND_EVENT_MS = 1_000_000;
/** Readings of a round have event times in [base, base + this). */
const ROUND_SPAN_MS = 30_000;

const CUSTOMER_IDS = Array.from({ length: 25 }, (_, i) => `c${i}`);
/** Customer ids orders and clicks may name: a few never exist (LEFT JOIN without partner). */
const REFERENCED_IDS = [...CUSTOMER_IDS, "c90", "c91", "c92"];
const REGIONS = ["north", "south", "east", "west"];
const TIERS = ["gold", "silver", "bronze"];
const NAMES = ["ada", "bob", "cy", "dee", "eve"];
const CATEGORIES = ["books", "games", "tools", "food", "toys", "garden"];
const PAGES = ["home", "cart", "search", "item", "help"];
const SENSORS = ["s0", "s1", "s2", "s3"];

/**
 * What the topics should hold, and the random changes that get them there. The same
 * seed makes the same changes; how the engine interleaves them (and where a SIGKILL
 * lands) still varies from run to run.
 */
export class Workload {
  readonly model: Record<ApiTopic | "clicks", Map<string, Payload>> = {
    orders: new Map(),
    customers: new Map(),
    clicks: new Map(),
    readings: new Map(),
  };
  /** The round whose readings are being written; earlier rounds' windows are closed. */
  round = 0;
  #seq = 0;
  /**
   * Keys of HTTP-written topics that their API source has seen: it deletes only keys it
   * emitted, so only these may be deleted from the model.
   */
  #deletable = { orders: new Set<string>(), readings: new Set<string>() };

  constructor(readonly rng: Rng) {}

  /** Call once every API source has committed the model as it is now. */
  converged(): void {
    this.#deletable.orders = new Set(this.model.orders.keys());
    this.#deletable.readings = new Set(this.model.readings.keys());
  }

  /** Event time at which round `round`'s readings start. */
  static roundBase(round: number): number {
    return EVENT_BASE + round * ROUND_EVENT_MS;
  }

  /**
   * One wave of `size` random changes, each to a different key: customer changes and
   * every delete only change the model (the API sources carry them); the rest come back
   * as HTTP posts of 1–5 messages, safe to send concurrently.
   */
  wave(size: number): Post[] {
    const touched = new Set<string>();
    const out: Record<HttpTopic, Payload[]> = { orders: [], clicks: [], readings: [] };
    for (let i = 0; i < size; i++) {
      const roll = this.rng.next();
      if (roll < 0.15) this.#customer(touched);
      else if (roll < 0.55) this.#order(touched, out.orders);
      else if (roll < 0.75) this.#click(touched, out.clicks);
      else this.#reading(touched, out.readings);
    }
    const posts: Post[] = [];
    for (const topic of ["orders", "clicks", "readings"] as const) {
      const messages = out[topic];
      for (let at = 0; at < messages.length;) {
        const n = this.rng.int(1, 5);
        posts.push({ topic, messages: messages.slice(at, at + n) });
        at += n;
      }
    }
    return posts;
  }

  /** A key of `map` not yet touched in this wave, if any. */
  #existing(map: Map<string, Payload>, touched: Set<string>, prefix: string): Payload | undefined {
    const free = [...map.keys()].filter((k) => !touched.has(`${prefix}:${k}`));
    if (free.length === 0) return undefined;
    const key = this.rng.pick(free);
    touched.add(`${prefix}:${key}`);
    return map.get(key);
  }

  #customer(touched: Set<string>): void {
    const customers = this.model.customers;
    const absent = CUSTOMER_IDS.filter((id) => !customers.has(id) && !touched.has(`c:${id}`));
    if (absent.length && (customers.size < 15 || this.rng.chance(0.3))) {
      const id = this.rng.pick(absent);
      touched.add(`c:${id}`);
      customers.set(id, this.#newCustomer(id));
      return;
    }
    const c = this.#existing(customers, touched, "c");
    if (!c) return;
    if (this.rng.chance(0.2)) customers.delete(c.id);
    else if (this.rng.chance(0.5)) customers.set(c.id, { ...c, region: this.rng.pick(REGIONS) });
    else customers.set(c.id, { ...this.#newCustomer(c.id), region: c.region });
  }

  #newCustomer(id: string): Payload {
    const name = `${this.rng.pick(NAMES)}-${this.rng.int(1, 99)}`;
    return { id, name, region: this.rng.pick(REGIONS), tier: this.rng.pick(TIERS) };
  }

  #order(touched: Set<string>, posts: Payload[], insert = false): void {
    const orders = this.model.orders;
    const roll = this.rng.next();
    if (insert || orders.size < 10 || roll < 0.4) {
      const id = `o${this.#seq++}`;
      touched.add(`o:${id}`);
      const order: Payload = {
        id,
        customer_id: this.rng.pick(REFERENCED_IDS),
        category: this.rng.pick(CATEGORIES),
        amount: this.rng.int(1, 100),
        price: this.rng.int(1, 200) * 0.25,
      };
      if (this.rng.chance(0.8)) order.qty = this.rng.int(1, 5);
      orders.set(id, order);
      posts.push(order);
      return;
    }
    const o = this.#existing(orders, touched, "o");
    if (!o) return;
    if (roll > 0.85 && this.#deletable.orders.has(o.id)) {
      orders.delete(o.id);
      return;
    }
    const next: Payload = { ...o };
    if (this.rng.chance(0.4)) next.category = this.rng.pick(CATEGORIES);
    if (this.rng.chance(0.4)) next.customer_id = this.rng.pick(REFERENCED_IDS);
    if (this.rng.chance(0.5)) next.amount = this.rng.int(1, 100);
    if (this.rng.chance(0.3)) next.price = this.rng.int(1, 200) * 0.25;
    if (this.rng.chance(0.2)) {
      if ("qty" in next) delete next.qty;
      else next.qty = this.rng.int(1, 5);
    }
    orders.set(o.id, next);
    posts.push(next);
  }

  #click(touched: Set<string>, posts: Payload[], insert = false): void {
    const clicks = this.model.clicks;
    const update = !insert && clicks.size > 0 && this.rng.chance(0.2);
    const old = update ? this.#existing(clicks, touched, "k") : undefined;
    const id = old?.id ?? `k${this.#seq++}`;
    touched.add(`k:${id}`);
    const click: Payload = {
      id,
      customer_id: this.rng.pick(REFERENCED_IDS),
      page: this.rng.pick(PAGES),
      ms: this.rng.int(1, 5000),
    };
    clicks.set(id, click);
    posts.push(click);
  }

  /** Readings of the current round only: closed windows never see a change. */
  #reading(touched: Set<string>, posts: Payload[]): void {
    const readings = this.model.readings;
    const base = Workload.roundBase(this.round);
    const current = new Map(
      [...readings].filter(([, r]) => (r.at as number) >= base),
    );
    const roll = this.rng.next();
    if (current.size < 3 || roll < 0.6) {
      const id = `r${this.#seq++}`;
      touched.add(`r:${id}`);
      const reading: Payload = {
        id,
        sensor: this.rng.pick(SENSORS),
        at: base + this.rng.int(0, ROUND_SPAN_MS - 1),
        value: this.rng.int(-50, 100),
      };
      readings.set(id, reading);
      posts.push(reading);
      return;
    }
    const r = this.#existing(current, touched, "r");
    if (!r) return;
    if (roll > 0.85 && this.#deletable.readings.has(r.id)) {
      readings.delete(r.id);
      return;
    }
    const next = { ...r, value: this.rng.int(-50, 100) };
    readings.set(r.id, next);
    posts.push(next);
  }

  /**
   * New orders and clicks, to be posted once every older row is past the clock bound and
   * expired: they make every join over those topics evaluate, and are what the
   * clock-bounded and expiring joins hold at the end.
   */
  freshRows(n: number): Post[] {
    const orders: Payload[] = [];
    const clicks: Payload[] = [];
    for (let i = 0; i < n; i++) {
      this.#order(new Set(), orders, true);
      this.#click(new Set(), clicks, true);
    }
    return [{ topic: "orders", messages: orders }, { topic: "clicks", messages: clicks }];
  }

  /** Moves readings to the next round; the returned reading closes the previous round's windows. */
  nextRound(): Payload {
    this.round++;
    const id = `r${this.#seq++}`;
    const opener: Payload = {
      id,
      sensor: this.rng.pick(SENSORS),
      at: Workload.roundBase(this.round),
      value: this.rng.int(-50, 100),
    };
    this.model.readings.set(id, opener);
    return opener;
  }
}

/** A REST endpoint serving the model of each API topic, counting the polls it answers. */
export interface ModelServer {
  url: string;
  /**
   * Resolves once `topic`'s source has polled twice since the call, so that the model as
   * it is now is committed.
   */
  caughtUp(topic: ApiTopic): Promise<void>;
  stop(): Promise<void>;
}

export function serveModel(workload: Workload): Promise<ModelServer> {
  const polls = new Map<string, number>();
  const waiters: { topic: string; at: number; resolve: () => void }[] = [];
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: ({ port }) =>
        resolve({
          url: `http://127.0.0.1:${port}`,
          caughtUp: (topic) => {
            const done = Promise.withResolvers<void>();
            waiters.push({ topic, at: (polls.get(topic) ?? 0) + 2, resolve: done.resolve });
            return done.promise;
          },
          stop: () => server.shutdown(),
        }),
    }, (request) => {
      const topic = new URL(request.url).pathname.slice(1) as ApiTopic;
      const model = workload.model[topic];
      if (!model) return new Response("no such topic", { status: 404 });
      const count = (polls.get(topic) ?? 0) + 1;
      polls.set(topic, count);
      for (const w of waiters.filter((w) => w.topic === topic && w.at <= count)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      return Response.json([...model.values()]);
    });
  });
}
