import assert from "node:assert/strict";
import { createPager, nextLink, type Page, PaginationError } from "./_pagination.ts";

const BASE = new URL("http://api.test/users?status=active");
const page = (url: URL, items: number, body: unknown = {}, link?: string): Page => ({
  url,
  items,
  body,
  headers: new Headers(link ? { link } : {}),
});

Deno.test("nextLink finds rel=next among several links, quoted or bare, in a rel list", () => {
  assert.equal(
    nextLink('<https://a.test/x?page=1>; rel="prev", <https://a.test/x?page=3>; rel="next"'),
    "https://a.test/x?page=3",
  );
  assert.equal(nextLink("</items?after=a,b>;rel=next"), "/items?after=a,b");
  assert.equal(
    nextLink('<https://a.test/2>; title="a, b; c"; rel="last next"'),
    "https://a.test/2",
  );
  assert.equal(nextLink('<https://a.test/1>; rel="prev"'), undefined);
  assert.equal(nextLink('<https://a.test/1>; rel="nextish"'), undefined);
  assert.equal(nextLink(null), undefined);
});

Deno.test("cursor pagination sends the cursor from the response until it is missing", () => {
  const pager = createPager({ type: "cursor", param: "cursor", next: "meta.next" });
  const first = pager.first(BASE);
  assert.equal(first.href, BASE.href);
  const second = pager.next(page(first, 2, { meta: { next: "c2" } }))!;
  assert.equal(second.href, "http://api.test/users?status=active&cursor=c2");
  const third = pager.next(page(second, 2, { meta: { next: 17 } }))!;
  assert.equal(third.searchParams.get("cursor"), "17");
  assert.equal(pager.next(page(third, 2, { meta: { next: null } })), undefined);
  assert.equal(pager.next(page(third, 2, { meta: {} })), undefined);
  assert.equal(pager.next(page(third, 0, { meta: { next: "c9" } })), undefined, "empty page");
});

Deno.test("cursor pagination refuses a cursor that does not advance or is not a value", () => {
  const pager = createPager({ type: "cursor", param: "cursor", next: "next" });
  const second = pager.next(page(pager.first(BASE), 1, { next: "a" }))!;
  assert.throws(() => pager.next(page(second, 1, { next: "a" })), PaginationError);
  assert.throws(
    () => pager.next(page(second, 1, { next: { id: 1 } })),
    /the next cursor at "next" is an object, expected a string or a number/,
  );
});

Deno.test("link pagination follows rel=next, relative links included, until there is none", () => {
  const pager = createPager({ type: "link" });
  const first = pager.first(BASE);
  const second = pager.next(page(first, 3, {}, '</users?after=u3>; rel="next"'))!;
  assert.equal(second.href, "http://api.test/users?after=u3");
  assert.equal(pager.next(page(second, 3)), undefined);
  assert.throws(
    () => pager.next(page(second, 3, {}, '</users?after=u3>; rel="next"')),
    /the next link did not advance/,
  );
});

Deno.test("page pagination counts from start and stops on an empty page", () => {
  const pager = createPager({ type: "page", param: "p", start: 0, size_param: "n", size: 50 });
  const first = pager.first(BASE);
  assert.equal(first.href, "http://api.test/users?status=active&p=0&n=50");
  const second = pager.next(page(first, 50))!;
  assert.equal(second.searchParams.get("p"), "1");
  assert.equal(pager.next(page(pager.next(page(second, 50))!, 0)), undefined);
});

Deno.test("offset pagination advances by the items received, not by the limit asked", () => {
  const pager = createPager({ type: "offset", param: "offset", limit_param: "limit", limit: 100 });
  const first = pager.first(BASE);
  assert.equal(first.href, "http://api.test/users?status=active&offset=0&limit=100");
  // The server caps pages at 30: the next offset is 30, so nothing is skipped.
  const second = pager.next(page(first, 30))!;
  assert.equal(second.searchParams.get("offset"), "30");
  assert.equal(pager.next(page(second, 30))!.searchParams.get("offset"), "60");
});

Deno.test("no pagination fetches one page", () => {
  const pager = createPager(undefined);
  assert.equal(pager.first(BASE).href, BASE.href);
  assert.equal(pager.next(page(BASE, 10)), undefined);
});
