/**
 * How the API source walks the pages of one poll. Four styles: `cursor` (a request
 * parameter fed from a path in the response), `link` (RFC 8288 `Link: <…>; rel="next"`),
 * `page` (a page number) and `offset` (an offset and a limit). Every style stops on an
 * empty page; `cursor` and `link` also stop when there is no next cursor or link.
 */
import { type Infer, integer, object, string, tagged } from "../schema/schema.ts";
import { dottedPath } from "../schema/common.ts";
import { getPath } from "../paths.ts";

const param = (name: string, what: string) =>
  string().default(name).describe(`Query parameter that carries the ${what}.`);

export const paginationSpec = tagged({}, {
  cursor: object({
    param: param("cursor", "cursor"),
    next: dottedPath().describe(
      "Dotted path of the next cursor in the response; missing, null or empty ends the poll.",
      "meta.next_cursor",
    ),
  }),
  link: object({}),
  page: object({
    param: param("page", "page number"),
    start: integer({ min: 0 }).default(1).describe("Number of the first page."),
    size_param: string().optional().describe("Query parameter for the page size, if any."),
    size: integer({ min: 1 }).optional().describe("Page size sent in size_param."),
  }).check((c) =>
    (c.size_param === undefined) !== (c.size === undefined)
      ? "size_param and size go together: give both or neither"
      : undefined
  ),
  offset: object({
    param: param("offset", "offset of the first item"),
    limit_param: param("limit", "page size"),
    limit: integer({ min: 1 }).default(100).describe("Items asked for per page."),
  }),
}).describe("How to fetch the next page; none: one request per poll.");

export type PaginationConfig = Infer<typeof paginationSpec>;

/** One fetched page, as pagination needs it. */
export interface Page {
  /** The URL that was fetched. */
  url: URL;
  body: unknown;
  headers: Headers;
  /** How many items the page held. */
  items: number;
}

/** The response does not let pagination go on: the poll cannot be completed. */
export class PaginationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PaginationError";
  }
}

/** Walks the pages of one poll. Create one per poll: it remembers where it has been. */
export interface Pager {
  /** The URL of the first page, built from the source's URL. */
  first(url: URL): URL;
  /**
   * The URL of the page after `page`, or undefined when `page` is the last (it is
   * empty, or holds no next cursor or link). Throws `PaginationError` when the next
   * page would be one already fetched in this poll.
   */
  next(page: Page): URL | undefined;
}

export function createPager(config: PaginationConfig | undefined): Pager {
  const seen = new Set<string>();
  const visit = (url: URL, what: string): URL => {
    if (seen.has(url.href)) {
      throw new PaginationError(`the ${what} did not advance (${url.href} was already fetched)`);
    }
    seen.add(url.href);
    return url;
  };
  const withParams = (url: URL, params: Record<string, string | number>): URL => {
    const next = new URL(url);
    for (const [name, value] of Object.entries(params)) next.searchParams.set(name, String(value));
    return next;
  };
  const pager = ((): Pager => {
    switch (config?.type) {
      case undefined:
        return { first: (url) => url, next: () => undefined };
      case "cursor":
        return {
          first: (url) => url,
          next(page) {
            const cursor = getPath(page.body, config.next);
            if (cursor === undefined || cursor === null || cursor === "") return undefined;
            if (typeof cursor !== "string" && typeof cursor !== "number") {
              throw new PaginationError(
                `the next cursor at "${config.next}" is ${
                  Array.isArray(cursor) ? "a list" : "an object"
                }, expected a string or a number`,
              );
            }
            return visit(withParams(page.url, { [config.param]: cursor }), "cursor");
          },
        };
      case "link":
        return {
          first: (url) => url,
          next(page) {
            const target = nextLink(page.headers.get("link"));
            if (target === undefined) return undefined;
            let url: URL;
            try {
              url = new URL(target, page.url);
            } catch {
              throw new PaginationError(`the next link ${JSON.stringify(target)} is not a URL`);
            }
            return visit(url, "next link");
          },
        };
      case "page": {
        const size = config.size_param ? { [config.size_param]: config.size! } : {};
        let number = config.start;
        return {
          first: (url) => withParams(url, { [config.param]: number, ...size }),
          next: (page) => withParams(page.url, { [config.param]: ++number, ...size }),
        };
      }
      case "offset": {
        let offset = 0;
        const limit = { [config.limit_param]: config.limit };
        return {
          first: (url) => withParams(url, { [config.param]: offset, ...limit }),
          // Advance by what arrived, not by the limit: a server may cap the page size.
          next: (page) => withParams(page.url, { [config.param]: offset += page.items, ...limit }),
        };
      }
    }
  })();
  return {
    first: (url) => visit(pager.first(url), "first page"),
    next: (page) => (page.items === 0 ? undefined : pager.next(page)),
  };
}

/**
 * The target of the `rel="next"` link in a `Link` header (RFC 8288), or undefined.
 * Handles several links per header, quoted or bare rel values, and rel lists.
 */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  let i = 0;
  while (i < header.length) {
    const open = header.indexOf("<", i);
    if (open < 0) return undefined;
    const close = header.indexOf(">", open);
    if (close < 0) return undefined;
    const target = header.slice(open + 1, close).trim();
    // Parameters run to the next comma outside quotes.
    let j = close + 1;
    let quoted = false;
    while (j < header.length && (quoted || header[j] !== ",")) {
      if (header[j] === '"') quoted = !quoted;
      j++;
    }
    for (const part of header.slice(close + 1, j).split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0 || part.slice(0, eq).trim().toLowerCase() !== "rel") continue;
      const value = part.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
      if (value.toLowerCase().split(/\s+/).includes("next")) return target;
    }
    i = j + 1;
  }
  return undefined;
}
