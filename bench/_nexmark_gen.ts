/**
 * A deterministic generator of the Nexmark online-auction stream (after the generator of
 * the Nexmark suite for Beam and Flink): people, auctions and bids in proportions
 * 1 : 3 : 46 of every 50 events (2 %, 6 %, 92 %), with the suite's ids, hot sellers,
 * bidders and auctions, prices, names, cities, states, URLs and `extra` padding.
 *
 * Event `n` (from 0) is a person, an auction or a bid by its place in its block of 50;
 * its time is `baseTime + n * 1000 / rate` (the generator's clock advances with the
 * rate). Ids: person ids and auction ids count up from 1000 in generation order. A bid
 * names an auction and a bidder, an auction a seller, always among those generated
 * before it (the suite lets them run up to 10 ahead; here every reference resolves).
 * The same seed gives the same events.
 */

export interface Person {
  id: number;
  name: string;
  emailAddress: string;
  creditCard: string;
  city: string;
  state: string;
  /** Event time, epoch ms. */
  dateTime: number;
  extra: string;
}

export interface Auction {
  id: number;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  dateTime: number;
  /** When the auction closes, epoch ms. */
  expires: number;
  seller: number;
  category: number;
  extra: string;
}

/**
 * Nexmark bids carry no id; LiteJoin topics are keyed, so each bid carries its event
 * number as `id`.
 */
export interface Bid {
  id: number;
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  dateTime: number;
  extra: string;
}

export type NexmarkEvent =
  | { kind: "person"; event: Person }
  | { kind: "auction"; event: Auction }
  | { kind: "bid"; event: Bid };

export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
export const NUM_CATEGORIES = 5;
const PERSON_PROPORTION = 1;
const AUCTION_PROPORTION = 3;
const BID_PROPORTION = 46;
export const PROPORTION_DENOMINATOR = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;
/** The suite's defaults: people bids and auctions are drawn from, auctions in flight. */
const NUM_ACTIVE_PEOPLE = 1000;
const NUM_IN_FLIGHT_AUCTIONS = 100;
/** 1 in this many auctions is not for a hot seller, bids not on a hot auction / by a hot bidder. */
const HOT_SELLERS_RATIO = 4;
const HOT_AUCTION_RATIO = 2;
const HOT_BIDDERS_RATIO = 4;
/** Hot sellers, bidders and auctions are the first of each batch of this many ids. */
const HOT_BATCH = 100;
const AVG_PERSON_BYTES = 200;
const AVG_AUCTION_BYTES = 500;
const AVG_BID_BYTES = 100;
const HOT_CHANNELS = ["Google", "Facebook", "Baidu", "Apple"];
const CHANNELS = 10_000;
const US_STATES = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const US_CITIES = [
  "Phoenix",
  "Los Angeles",
  "San Francisco",
  "Boise",
  "Portland",
  "Bend",
  "Redmond",
  "Seattle",
  "Kent",
  "Cheyenne",
];
const FIRST_NAMES = [
  "Peter",
  "Paul",
  "Luke",
  "John",
  "Saul",
  "Vicky",
  "Kate",
  "Julie",
  "Sarah",
  "Deiter",
  "Walter",
];
const LAST_NAMES = ["Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones"];

/** A small seeded PRNG (mulberry32): the same seed, the same sequence. */
export class Random {
  #state: number;
  /** Random letters, and letters with about one in 13 a space, that strings are cut from. */
  #letters = "";
  #spaced = "";

  constructor(seed: number) {
    this.#state = seed >>> 0;
    this.#letters = this.#fill(65_536, "");
    this.#spaced = this.#fill(65_536, " ");
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /**
   * The suite's nextString: 3 to max-1 letters, about one in 13 replaced by `special`,
   * trimmed. With a space (the default) it is cut from a pool drawn once, which is
   * the same stream of letters at a fraction of the cost.
   */
  string(max: number, special = " "): string {
    const length = 3 + this.int(max - 3);
    if (special === " ") return this.#cut(this.#spaced, length).trim();
    return this.#fill(length, special).trim();
  }

  /** `length` letters. */
  exactString(length: number): string {
    return this.#cut(this.#letters, length);
  }

  #cut(pool: string, length: number): string {
    const at = this.int(pool.length - length);
    return pool.slice(at, at + length);
  }

  #fill(length: number, special: string): string {
    const out: string[] = [];
    for (let i = 0; i < length; i++) {
      out.push(
        special && this.int(13) === 0 ? special : String.fromCharCode(97 + this.int(26)),
      );
    }
    return out.join("");
  }
}

export interface GeneratorOptions {
  /** Events per second of event time (all three kinds together). */
  rate: number;
  /** Event time of event 0, epoch ms. */
  baseTime: number;
  seed?: number;
}

export class NexmarkGenerator {
  /** The number of the next event. */
  next = 0;
  readonly #random: Random;
  readonly #urls: { channel: string; url: string }[] = [];
  readonly #hotUrls: string[];

  constructor(readonly options: GeneratorOptions) {
    this.#random = new Random(options.seed ?? 42);
    this.#hotUrls = HOT_CHANNELS.map(() => this.#baseUrl());
  }

  /** Event time of event `n`. */
  timeOf(n: number): number {
    return this.options.baseTime + Math.floor((n * 1000) / this.options.rate);
  }

  /** The next event. */
  event(): NexmarkEvent {
    const n = this.next++;
    const offset = n % PROPORTION_DENOMINATOR;
    const time = this.timeOf(n);
    if (offset < PERSON_PROPORTION) return { kind: "person", event: this.#person(n, time) };
    if (offset < PERSON_PROPORTION + AUCTION_PROPORTION) {
      return { kind: "auction", event: this.#auction(n, time) };
    }
    return { kind: "bid", event: this.#bid(n, time) };
  }

  /** Every event whose time is before `time`, in order. */
  until(time: number): NexmarkEvent[] {
    const out: NexmarkEvent[] = [];
    while (this.timeOf(this.next) < time) out.push(this.event());
    return out;
  }

  #person(n: number, time: number): Person {
    const r = this.#random;
    const name = `${r.pick(FIRST_NAMES)} ${r.pick(LAST_NAMES)}`;
    const emailAddress = `${r.string(7)}@${r.string(5)}.com`;
    const creditCard = Array.from({ length: 4 }, () => String(r.int(10000)).padStart(4, "0"))
      .join(" ");
    const city = r.pick(US_CITIES);
    const state = r.pick(US_STATES);
    const size = 8 + name.length + emailAddress.length + creditCard.length + city.length +
      state.length;
    return {
      id: lastPerson(n) + FIRST_PERSON_ID,
      name,
      emailAddress,
      creditCard,
      city,
      state,
      dateTime: time,
      extra: this.#extra(size, AVG_PERSON_BYTES),
    };
  }

  #auction(n: number, time: number): Auction {
    const r = this.#random;
    const seller = r.int(HOT_SELLERS_RATIO) > 0
      ? Math.floor(lastPerson(n) / HOT_BATCH) * HOT_BATCH
      : this.#anyPerson(n);
    const initialBid = price(r);
    const itemName = r.string(20);
    const description = r.string(100);
    const size = 8 + itemName.length + description.length + 8 + 8 + 8 + 8 + 8;
    return {
      id: lastAuction(n) + FIRST_AUCTION_ID,
      itemName,
      description,
      initialBid,
      reserve: initialBid + price(r),
      dateTime: time,
      expires: time + this.#auctionLength(n, time),
      seller: seller + FIRST_PERSON_ID,
      category: FIRST_CATEGORY_ID + r.int(NUM_CATEGORIES),
      extra: this.#extra(size, AVG_AUCTION_BYTES),
    };
  }

  #bid(n: number, time: number): Bid {
    const r = this.#random;
    const auction = r.int(HOT_AUCTION_RATIO) > 0
      ? Math.floor(lastAuction(n) / HOT_BATCH) * HOT_BATCH
      : this.#anyAuction(n);
    // The second of the batch, so that hot bidders are not the hot sellers.
    const bidder = r.int(HOT_BIDDERS_RATIO) > 0
      ? Math.min(lastPerson(n), Math.floor(lastPerson(n) / HOT_BATCH) * HOT_BATCH + 1)
      : this.#anyPerson(n);
    let channel: string;
    let url: string;
    if (r.int(2) > 0) {
      const i = r.int(HOT_CHANNELS.length);
      channel = HOT_CHANNELS[i];
      url = this.#hotUrls[i];
    } else {
      ({ channel, url } = this.#channel(r.int(CHANNELS)));
    }
    return {
      id: n,
      auction: auction + FIRST_AUCTION_ID,
      bidder: bidder + FIRST_PERSON_ID,
      price: price(r),
      channel,
      url,
      dateTime: time,
      extra: this.#extra(8 + 8 + 8 + 8, AVG_BID_BYTES),
    };
  }

  /** One of the active people generated so far (base 0). */
  #anyPerson(n: number): number {
    const people = lastPerson(n) + 1;
    const active = Math.min(people, NUM_ACTIVE_PEOPLE);
    return people - active + this.#random.int(active);
  }

  /** One of the auctions likely still in flight (base 0). */
  #anyAuction(n: number): number {
    const last = lastAuction(n);
    const first = Math.max(last - NUM_IN_FLIGHT_AUCTIONS, 0);
    return first + this.#random.int(last - first + 1);
  }

  /**
   * The suite's auction length: on average the time until NUM_IN_FLIGHT_AUCTIONS more
   * auctions are generated, so about that many are open at any moment.
   */
  #auctionLength(n: number, time: number): number {
    const ahead = Math.floor(
      (NUM_IN_FLIGHT_AUCTIONS * PROPORTION_DENOMINATOR) / AUCTION_PROPORTION,
    );
    const horizon = this.timeOf(n + ahead) - time;
    return 1 + this.#random.int(Math.max(horizon * 2, 1));
  }

  /** The suite's `extra`: letters padding the event to about its average size. */
  #extra(size: number, average: number): string {
    if (size > average) return "";
    const want = average - size;
    const delta = Math.round(want * 0.2);
    return this.#random.exactString(want - delta + (delta === 0 ? 0 : this.#random.int(2 * delta)));
  }

  #baseUrl(): string {
    const r = this.#random;
    return `https://www.nexmark.com/${r.string(5, "_")}/${r.string(5, "_")}/${
      r.string(5, "_")
    }/item.htm?query=1`;
  }

  /** Channel i and its URL (nine in ten carry a channel_id), the same every time it is drawn. */
  #channel(i: number): { channel: string; url: string } {
    let entry = this.#urls[i];
    if (!entry) {
      let url = this.#baseUrl();
      if (this.#random.int(10) > 0) url += `&channel_id=${Math.abs(reverseBits(i))}`;
      entry = this.#urls[i] = { channel: `channel-${i}`, url };
    }
    return entry;
  }
}

/** The suite's prices: log-uniform cents from 1.00 to 1,000,000.00. */
function price(r: Random): number {
  return Math.round(10 ** (r.next() * 6) * 100);
}

/** The last person (base 0) generated at or before event `n`. */
export function lastPerson(n: number): number {
  const epoch = Math.floor(n / PROPORTION_DENOMINATOR);
  const offset = Math.min(n % PROPORTION_DENOMINATOR, PERSON_PROPORTION - 1);
  return epoch * PERSON_PROPORTION + offset;
}

/** The last auction (base 0) generated before event `n`, or by it if `n` is an auction. */
export function lastAuction(n: number): number {
  let epoch = Math.floor(n / PROPORTION_DENOMINATOR);
  let offset = n % PROPORTION_DENOMINATOR;
  if (offset < PERSON_PROPORTION) {
    epoch--;
    offset = AUCTION_PROPORTION - 1;
  } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) {
    offset = AUCTION_PROPORTION - 1;
  } else offset -= PERSON_PROPORTION;
  return epoch * AUCTION_PROPORTION + offset;
}

/** Java's Integer.reverse. */
function reverseBits(i: number): number {
  let out = 0;
  for (let b = 0; b < 32; b++) out = (out << 1) | ((i >>> b) & 1);
  return out | 0;
}
