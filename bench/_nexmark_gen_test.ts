import assert from "node:assert/strict";
import {
  type Auction,
  type Bid,
  FIRST_AUCTION_ID,
  FIRST_PERSON_ID,
  type NexmarkEvent,
  NexmarkGenerator,
  type Person,
} from "./_nexmark_gen.ts";

const BASE = Date.UTC(2030, 0, 1);
const take = (gen: NexmarkGenerator, n: number) => Array.from({ length: n }, () => gen.event());

Deno.test("events come as 1 person, 3 auctions and 46 bids in every 50", () => {
  const events = take(new NexmarkGenerator({ rate: 10_000, baseTime: BASE }), 50_000);
  const count = (kind: NexmarkEvent["kind"]) => events.filter((e) => e.kind === kind).length;
  assert.equal(count("person"), 1000);
  assert.equal(count("auction"), 3000);
  assert.equal(count("bid"), 46_000);
  for (let block = 0; block < 50_000; block += 50) {
    assert.equal(events[block].kind, "person");
    assert.deepEqual(events.slice(block + 1, block + 4).map((e) => e.kind), [
      "auction",
      "auction",
      "auction",
    ]);
  }
});

Deno.test("ids count up, and every reference names an event generated before it", () => {
  const people = new Set<number>();
  const auctions = new Map<number, Auction>();
  let bids = 0;
  for (const e of take(new NexmarkGenerator({ rate: 50_000, baseTime: BASE }), 100_000)) {
    if (e.kind === "person") {
      assert.equal(e.event.id, FIRST_PERSON_ID + people.size);
      people.add(e.event.id);
    } else if (e.kind === "auction") {
      assert.equal(e.event.id, FIRST_AUCTION_ID + auctions.size);
      assert(people.has(e.event.seller), `auction ${e.event.id}: seller ${e.event.seller}`);
      assert(e.event.expires > e.event.dateTime);
      assert(e.event.category >= 10 && e.event.category < 15);
      auctions.set(e.event.id, e.event);
    } else {
      assert(auctions.has(e.event.auction), `bid ${e.event.id}: auction ${e.event.auction}`);
      assert(people.has(e.event.bidder), `bid ${e.event.id}: bidder ${e.event.bidder}`);
      assert(e.event.price >= 100 && e.event.price <= 100_000_000);
      bids++;
    }
  }
  assert.equal(bids, 92_000);
});

Deno.test("the clock advances with the rate", () => {
  const gen = new NexmarkGenerator({ rate: 4000, baseTime: BASE });
  const events = gen.until(BASE + 1000);
  assert.equal(events.length, 4000);
  const times = events.map((e) => e.event.dateTime);
  assert.equal(times[0], BASE);
  assert.equal(times.at(-1), BASE + 999);
  assert(times.every((t, i) => i === 0 || t >= times[i - 1]));
  assert.equal(gen.until(BASE + 1000).length, 0);
  assert.equal(gen.until(BASE + 1500).length, 2000);
});

Deno.test("hot auctions, bidders and sellers draw most of the traffic", () => {
  const events = take(new NexmarkGenerator({ rate: 10_000, baseTime: BASE }), 100_000);
  const bids = events.filter((e) => e.kind === "bid").map((e) => e.event as Bid);
  const auctions = events.filter((e) => e.kind === "auction").map((e) => e.event as Auction);
  const share = <T>(items: T[], hot: (item: T) => boolean) =>
    items.filter(hot).length / items.length;
  // Hot ids are the first (bidders: the second) of each batch of 100.
  const onHotAuction = share(bids, (b) => (b.auction - FIRST_AUCTION_ID) % 100 === 0);
  const byHotBidder = share(bids, (b) => (b.bidder - FIRST_PERSON_ID) % 100 === 1);
  const byHotSeller = share(auctions, (a) => (a.seller - FIRST_PERSON_ID) % 100 === 0);
  assert(onHotAuction > 0.45 && onHotAuction < 0.6, `bids on hot auctions: ${onHotAuction}`);
  assert(byHotBidder > 0.7 && byHotBidder < 0.8, `bids by hot bidders: ${byHotBidder}`);
  assert(byHotSeller > 0.7 && byHotSeller < 0.8, `auctions by hot sellers: ${byHotSeller}`);
});

Deno.test("events pad to about the suite's average sizes", () => {
  const events = take(new NexmarkGenerator({ rate: 10_000, baseTime: BASE }), 5000);
  const mean = (kind: NexmarkEvent["kind"]) => {
    const sizes = events.filter((e) => e.kind === kind).map((e) => JSON.stringify(e.event).length);
    return sizes.reduce((a, b) => a + b, 0) / sizes.length;
  };
  // JSON adds field names to the suite's byte counts.
  assert(mean("person") > 250 && mean("person") < 400, `person ${mean("person")}`);
  assert(mean("auction") > 550 && mean("auction") < 750, `auction ${mean("auction")}`);
  assert(mean("bid") > 150 && mean("bid") < 300, `bid ${mean("bid")}`);
  const person = events[0].event as Person;
  assert.match(person.creditCard, /^\d{4} \d{4} \d{4} \d{4}$/);
  assert.match(person.emailAddress, /^.+@.+\.com$/);
});

Deno.test("the same seed gives the same stream, another seed another", () => {
  const a = take(new NexmarkGenerator({ rate: 1000, baseTime: BASE, seed: 7 }), 2000);
  const b = take(new NexmarkGenerator({ rate: 1000, baseTime: BASE, seed: 7 }), 2000);
  const c = take(new NexmarkGenerator({ rate: 1000, baseTime: BASE, seed: 8 }), 2000);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});
