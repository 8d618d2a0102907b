/**
 * CORS for browser clients on other origins (`http.cors`): preflights are answered by
 * the router, and responses to allowed origins carry the headers a browser needs to
 * read them, event streams included.
 */
import { boolean, type Infer, list, object, string } from "../schema/schema.ts";
import { duration } from "../schema/units.ts";
import { jsonError } from "./server.ts";

const ORIGIN = /^(\*|https?:\/\/[^\/\s?#]+)$/;

export const corsSpec = object({
  origins: list(
    string({
      pattern: ORIGIN,
      hint: "must be an origin such as https://dash.example.com (scheme, host, port; no path or " +
        "trailing /), or *",
    }),
  ).default([]).describe(
    "Origins whose pages may call the HTTP API; * allows any. Empty: no CORS headers at all.",
    ["http://localhost:5173"],
  ),
  methods: list(string({ pattern: /^[A-Z]+$/, hint: "must be an HTTP method in capitals" }))
    .default(["GET", "HEAD", "POST"]).describe(
      "Methods allowed from those origins. Preflights (OPTIONS) are answered by the router, for " +
        "paths it serves.",
    ),
  headers: list(string()).default(["content-type", "authorization", "last-event-id"]).describe(
    "Request headers allowed from those origins.",
  ),
  credentials: boolean().default(false).describe(
    "Allow cookies and Authorization with credentials (EventSource withCredentials); needs the " +
      "origins listed, not *.",
  ),
  max_age: duration().default(600_000).describe("How long a browser may cache a preflight."),
}).check((c) =>
  c.credentials && c.origins.includes("*")
    ? "credentials: true needs the origins listed; browsers refuse it with *"
    : undefined
);

export type CorsConfig = Infer<typeof corsSpec>;

export class Cors {
  readonly #any: boolean;
  readonly #origins: Set<string>;
  readonly #methods: Set<string>;
  readonly #headers: Set<string>;

  constructor(readonly config: CorsConfig) {
    this.#any = config.origins.includes("*");
    this.#origins = new Set(config.origins.map((o) => o.toLowerCase()));
    this.#methods = new Set(["OPTIONS", ...config.methods]);
    this.#headers = new Set(config.headers.map((h) => h.toLowerCase()));
  }

  allows(origin: string): boolean {
    return this.#any || this.#origins.has(origin.toLowerCase());
  }

  /** A browser asking whether it may send a request (OPTIONS with the request's method). */
  isPreflight(request: Request): boolean {
    return request.method === "OPTIONS" && request.headers.has("origin") &&
      request.headers.has("access-control-request-method");
  }

  /** 204 with the permissions, or 403 saying which part of the request is not allowed. */
  preflight(request: Request): Response {
    const origin = request.headers.get("origin")!;
    const method = request.headers.get("access-control-request-method")!.toUpperCase();
    if (!this.allows(origin)) {
      return jsonError(403, `origin ${origin} is not allowed; add it to http.cors.origins`);
    }
    if (!this.#methods.has(method)) {
      return jsonError(403, `method ${method} is not allowed; add it to http.cors.methods`);
    }
    const asked = (request.headers.get("access-control-request-headers") ?? "")
      .split(",").map((h) => h.trim().toLowerCase()).filter((h) => h !== "");
    const refused = asked.find((h) => !this.#headers.has(h));
    if (refused) {
      return jsonError(403, `header ${refused} is not allowed; add it to http.cors.headers`);
    }
    const headers = this.#allowHeaders(origin);
    headers.set("access-control-allow-methods", [...this.#methods].join(", "));
    if (asked.length) headers.set("access-control-allow-headers", asked.join(", "));
    headers.set("access-control-max-age", String(Math.round(this.config.max_age / 1000)));
    return new Response(null, { status: 204, headers });
  }

  /** The response, with CORS headers when the request came from an allowed origin. */
  decorate(request: Request, response: Response): Response {
    const origin = request.headers.get("origin");
    if (!origin || !this.allows(origin)) return response;
    let out = response;
    try {
      out.headers.set("vary", "origin");
    } catch {
      out = new Response(response.body, response); // immutable headers: copy
    }
    for (const [name, value] of this.#allowHeaders(origin)) out.headers.set(name, value);
    return out;
  }

  #allowHeaders(origin: string): Headers {
    const headers = new Headers({ vary: "origin" });
    const exact = this.config.credentials || !this.#any;
    headers.set("access-control-allow-origin", exact ? origin : "*");
    if (this.config.credentials) headers.set("access-control-allow-credentials", "true");
    return headers;
  }
}
