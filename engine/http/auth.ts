/**
 * Authentication of the HTTP listener (`http.auth`): bearer tokens, each with scopes,
 * checked on every route but the open ones (`/healthz`, `/readyz`). A route declares
 * the scope it needs; a source's own `auth_token` is accepted on that source's path
 * besides the tokens with scope `ingest`.
 *
 * - A request without credentials gets 401 with `WWW-Authenticate: Bearer`; one with a
 *   token that is not configured gets 401 `error="invalid_token"`; a valid token
 *   without the route's scope gets 403 `error="insufficient_scope"`.
 * - Browsers, whose EventSource cannot send headers, may use a session cookie from
 *   `POST /auth/login` (`auth_session.ts`) or, when `query_token` is on, `?access_token=`;
 *   both only on GET and HEAD, so neither can be used to post data across sites.
 * - Tokens are compared in constant time: SHA-256 of both sides, then timingSafeEqual,
 *   against every configured token.
 * - Refusals are counted in `litejoin_http_auth_failures_total{route,reason}` and
 *   logged at most once per `log_interval`, with the number held back.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { boolean, type Infer, list, object, oneOf, string } from "../schema/schema.ts";
import { componentName } from "../schema/common.ts";
import { duration } from "../schema/units.ts";
import type { Counter, Metrics } from "../metrics.ts";
import { type Logger, throttled } from "../log.ts";
import type { Clock } from "../types.ts";
import { jsonError } from "./server.ts";
import { readSession, SESSION_COOKIE } from "./auth_session.ts";

export const SCOPES = ["ingest", "read", "metrics"] as const;
export type Scope = typeof SCOPES[number];
/** What a route needs: no credentials at all (`open`), or a token with a scope. */
export type Access = "open" | Scope;

export const MIN_TOKEN_LENGTH = 16;

const tokenSpec = object({
  name: componentName().describe(
    "Name of the token, shown in logs, metrics and 403 answers (never the token itself).",
    "dashboard",
  ),
  token: string().check((t) =>
    t.length >= MIN_TOKEN_LENGTH
      ? undefined
      : `is ${t.length} characters; use at least ${MIN_TOKEN_LENGTH} random ones (e.g. openssl rand -hex 32)`
  ).describe(
    "The secret clients send. Write ${ENV} to keep it out of the file.",
    "${LITEJOIN_DASHBOARD_TOKEN}",
  ),
  scopes: list(oneOf(SCOPES), { min: 1 }).describe(
    "What the token may do: ingest (POST to HTTP sources), read (event streams, their " +
      "snapshots, static files), metrics (/metrics).",
    ["read"],
  ),
});

export const authSpec = object({
  tokens: list(tokenSpec).default([]).describe(
    "Bearer tokens. Several may share scopes, for rotation: add the new one, move the " +
      "clients, remove the old. Empty: every route answers anyone (as before), except " +
      "sources with their own auth_token.",
  ),
  query_token: boolean().default(false).describe(
    "Also accept the token as ?access_token= on GET and HEAD (EventSource across sites). " +
      "It then shows in proxy logs and browser history: prefer the login cookie.",
  ),
  login: boolean().default(true).describe(
    "Serve POST /auth/login (a token in, an HttpOnly SameSite=Strict session cookie out) " +
      "and POST /auth/logout, for pages on the engine's own site.",
  ),
  session_max_age: duration().default(12 * 3_600_000).check((ms) =>
    ms >= 60_000 ? undefined : "must be at least 1m"
  ).describe("How long a login cookie is valid."),
  log_interval: duration().default(60_000).describe(
    "Refused requests are logged at most once per interval, with the number held back.",
  ),
}).check((a) => {
  const names = new Set<string>();
  const secrets = new Set<string>();
  for (const t of a.tokens) {
    if (names.has(t.name)) return `token name ${t.name} is used twice; names must differ`;
    if (secrets.has(t.token)) return `tokens ${t.name} and another have the same secret`;
    names.add(t.name);
    secrets.add(t.token);
  }
  return undefined;
});

export type AuthConfig = Infer<typeof authSpec>;

/** A configured token, with what is compared in constant time. */
export interface KnownToken {
  name: string;
  token: string;
  scopes: ReadonlySet<string>;
  digest: Buffer;
}

/** SHA-256 of a token: what `timingSafeEqual` compares (equal lengths whatever the input). */
export function digestOf(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/** The first of `candidates` whose digest equals `digest`, looking at all of them. */
function findDigest<T extends { digest: Buffer }>(digest: Buffer, candidates: readonly T[]) {
  let found: T | undefined;
  for (const c of candidates) if (timingSafeEqual(digest, c.digest) && !found) found = c;
  return found;
}

type Reason = "missing" | "invalid" | "scope";
const REALM = 'Bearer realm="litejoin"';

export const DISABLED_AUTH: AuthConfig = {
  tokens: [],
  query_token: false,
  login: false,
  session_max_age: 12 * 3_600_000,
  log_interval: 60_000,
};

export class Authenticator {
  readonly tokens: KnownToken[];
  readonly #failures: Counter | undefined;
  readonly #log: (message: string) => void;

  constructor(
    readonly config: AuthConfig,
    readonly opts: { log: Logger; clock: Clock; metrics?: Metrics },
  ) {
    this.tokens = config.tokens.map((t) => ({
      name: t.name,
      token: t.token,
      scopes: new Set(t.scopes),
      digest: digestOf(t.token),
    }));
    this.#failures = opts.metrics?.counter(
      "litejoin_http_auth_failures_total",
      "HTTP requests refused by authentication, by route and reason: missing (no " +
        "credentials), invalid (unknown token or session), scope (a token without the " +
        "route's scope).",
    );
    this.#log = throttled((m) => opts.log.warn(m), config.log_interval, () => opts.clock.now());
  }

  /** Whether `http.auth` has tokens: then every route but the open ones needs one. */
  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  /** The configured token `token` is, compared in constant time. */
  find(token: string): KnownToken | undefined {
    return findDigest(digestOf(token), this.tokens);
  }

  /**
   * Undefined when `request` may use `route`, else the 401 or 403 to answer. `extra`
   * are digests of tokens accepted on this route alone (a source's `auth_token`).
   */
  check(
    request: Request,
    route: string,
    access: Access,
    extra: readonly Buffer[] = [],
    peer = "",
  ): Response | undefined {
    if (access === "open" || (!this.enabled && extra.length === 0)) return undefined;
    const safe = request.method === "GET" || request.method === "HEAD";
    const presented = this.#presented(request, safe);
    if (presented === undefined) {
      return this.#refuse(route, request, "missing", peer, `${access} access needs a token`);
    }
    let scopes: ReadonlySet<string> | undefined;
    let name = "";
    if (presented.session !== undefined) {
      const session = readSession(presented.session, this.tokens, this.opts.clock.now());
      if (session) ({ name, scopes } = session);
    } else {
      const digest = digestOf(presented.token);
      if (extra.some((d) => timingSafeEqual(d, digest))) return undefined;
      const known = findDigest(digest, this.tokens);
      if (known) ({ name, scopes } = known);
    }
    if (!scopes) {
      const what = presented.session !== undefined ? "session cookie" : "token";
      return this.#refuse(route, request, "invalid", peer, `invalid or expired ${what}`);
    }
    if (!scopes.has(access)) {
      return this.#refuse(route, request, "scope", peer, `token ${name} lacks scope ${access}`, {
        access,
        name,
      });
    }
    return undefined;
  }

  /** The token or session a request carries, by precedence: header, query, cookie. */
  #presented(request: Request, safe: boolean): { token: string; session?: string } | undefined {
    const header = request.headers.get("authorization");
    if (header !== null) {
      const match = /^bearer[ \t]+(\S+)\s*$/i.exec(header);
      return { token: match ? match[1] : "" };
    }
    if (!safe) return undefined;
    if (this.config.query_token && request.url.includes("access_token=")) {
      const token = new URL(request.url).searchParams.get("access_token");
      if (token !== null) return { token };
    }
    if (this.config.login) {
      const session = cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
      if (session !== undefined) return { token: "", session };
    }
    return undefined;
  }

  /** Counts a refused request and logs it (at most once per `log_interval`). */
  refused(route: string, reason: Reason, log: string): void {
    this.#failures?.inc({ route, reason });
    this.#log(log);
  }

  #refuse(
    route: string,
    request: Request,
    reason: Reason,
    peer: string,
    what: string,
    scope?: { access: Scope; name: string },
  ): Response {
    const from = peer ? ` from ${peer}` : "";
    this.refused(route, reason, `refused ${request.method} ${route}${from}: ${what}`);
    let response: Response;
    if (reason === "scope") {
      response = jsonError(
        403,
        `token ${scope!.name} lacks scope ${
          scope!.access
        }; add it to the token's scopes in http.auth.tokens, or use another token`,
      );
      response.headers.set(
        "www-authenticate",
        `${REALM}, error="insufficient_scope", scope="${scope!.access}"`,
      );
      return response;
    }
    response = jsonError(
      401,
      reason === "missing"
        ? "authentication required: send Authorization: Bearer <token>"
        : "invalid token: it is not one of http.auth.tokens (or the session expired; log in again)",
    );
    response.headers.set(
      "www-authenticate",
      reason === "missing" ? REALM : `${REALM}, error="invalid_token"`,
    );
    return response;
  }
}

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
