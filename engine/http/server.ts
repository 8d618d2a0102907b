/**
 * The one HTTP listener: sources, SSE sinks, `/healthz` and `/metrics` register routes
 * on it. Every route says who may use it (`open`, or the scope a token needs; see
 * `auth.ts`) and how large a body it takes.
 *
 * It runs on `node:http` (or `node:https` with `http.tls`), whose header, request and
 * keep-alive timeouts `Deno.serve` does not have; handlers still take a `Request` and
 * return a `Response` (`_bridge.ts`). Past `max_connections` open connections, requests
 * are answered 503 and their connections closed.
 */
import type http from "node:http";
import type { ListenAddress } from "../schema/units.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { systemClock } from "../types.ts";
import type { Cors } from "./cors.ts";
import { type Access, Authenticator, digestOf, DISABLED_AUTH } from "./auth.ts";
import {
  login,
  LOGIN_PATH,
  loginPage,
  logout,
  LOGOUT_PATH,
  MAX_LOGIN_BODY,
} from "./auth_session.ts";
import { DEFAULT_LIMITS, type Limits } from "./limits.ts";
import {
  BodyTooLarge,
  ClientGone,
  drainRest,
  requestHead,
  withBody,
  writeResponse,
} from "./_bridge.ts";
import { Listener } from "./_listener.ts";
import { isLoopback, pathOf, underPrefix } from "./_paths.ts";

export { isLoopback };

export type Handler = (request: Request) => Response | Promise<Response>;

/** A JSON response `{"error": message, ...extra}`: every HTTP error LiteJoin sends looks like this. */
export function jsonError(status: number, message: string, extra: Record<string, unknown> = {}) {
  return Response.json({ error: message, ...extra }, { status });
}

/** Routes that need no credentials when no access is given: the health checks. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz"]);

export interface RouteOptions {
  /**
   * `open`, or the scope a token needs. Unset: `open` for `OPEN_PATHS`, else `read` for
   * GET and HEAD and `ingest` for other methods (never open by omission).
   */
  access?: Access;
  /** Tokens accepted on this route besides `http.auth`'s (a source's `auth_token`). */
  tokens?: readonly string[];
  /** Largest body in bytes; `http.limits.max_body` when unset. */
  maxBody?: number;
}

export interface HttpServerOptions {
  auth?: Authenticator;
  limits?: Limits;
  /** Serve HTTPS with this pair, reloaded on SIGHUP and (with `watch`) on change. */
  tls?: { certFile: string; keyFile: string; watch: boolean };
  metrics?: Metrics;
}

interface Route {
  handler: Handler;
  access: Access;
  extra: Buffer[];
  maxBody: number;
  /** The handler enforces `maxBody` itself, with its own message (sources). */
  ownLimit: boolean;
}

export class HttpServer {
  readonly #routes = new Map<string, Map<string, Route>>();
  #listener: Listener | undefined;
  #stopped = false;
  #address: ListenAddress | undefined;
  readonly #stopHooks: (() => void | Promise<void>)[] = [];
  readonly #mounts: { prefix: string; handler: Handler; access: Access }[] = [];
  #cors: Cors | undefined;
  #closed: Promise<void> = Promise.resolve();
  readonly auth: Authenticator;
  readonly limits: Limits;
  readonly #refused;

  constructor(readonly log: Logger, readonly opts: HttpServerOptions = {}) {
    this.auth = opts.auth ??
      new Authenticator(DISABLED_AUTH, { log, clock: systemClock, metrics: opts.metrics });
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    const m = opts.metrics;
    this.#refused = m?.counter(
      "litejoin_http_refused_total",
      "HTTP requests and connections refused by the listener's limits, by reason: " +
        "connections (over max_connections), body (over the route's body limit), timeout " +
        "(headers or request not received in time), headers (over 16 KiB), malformed (not HTTP).",
    );
    for (const reason of ["connections", "body", "timeout", "headers", "malformed"]) {
      this.#refused?.bind({ reason });
    }
    const open = m?.gauge("litejoin_http_connections", "Open connections to the HTTP listener.");
    open?.collect(() => open.set({}, this.#listener?.connections ?? 0));
    if (this.auth.enabled && this.auth.config.login) {
      const secure = { secure: opts.tls !== undefined };
      this.route(
        "POST",
        LOGIN_PATH,
        (request) => login(request, this.auth, secure),
        { access: "open", maxBody: MAX_LOGIN_BODY },
      );
      this.route("POST", LOGOUT_PATH, () => logout(secure), { access: "open" });
      this.route(
        "GET",
        LOGIN_PATH,
        (request) => loginPage(new URL(request.url).searchParams.get("next")),
        { access: "open" },
      );
    }
  }

  /**
   * Runs `hook` when `stop` begins, before waiting for the requests in flight: a
   * response that never ends by itself (an event stream) must be ended there.
   */
  onStop(hook: () => void | Promise<void>): void {
    this.#stopHooks.push(hook);
  }

  /** Serves GET and HEAD of every path under `prefix` that no route serves (static files). */
  mount(prefix: string, handler: Handler, access: Access = "read"): void {
    if (this.#mounts.some((m) => m.prefix === prefix)) {
      throw new RangeError(`${prefix} is already mounted`);
    }
    this.#mounts.push({ prefix, handler, access });
    this.#mounts.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** Answers CORS preflights, and adds CORS headers to responses for allowed origins. */
  useCors(cors: Cors): void {
    this.#cors = cors;
  }

  /** Resolves once the listener has stopped and its last connection has ended. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Serves `method path` with `handler`. A path is served by one component only. */
  route(method: string, path: string, handler: Handler, opts: RouteOptions = {}): void {
    const access = opts.access ??
      (OPEN_PATHS.has(path) ? "open" : method === "GET" || method === "HEAD" ? "read" : "ingest");
    let byMethod = this.#routes.get(path);
    if (!byMethod) this.#routes.set(path, byMethod = new Map());
    if (byMethod.has(method)) {
      const login = path === LOGIN_PATH || path === LOGOUT_PATH;
      throw new RangeError(
        login
          ? `${method} ${path} is the login route of http.auth; use another path, or set http.auth.login: false`
          : `${method} ${path} is already served`,
      );
    }
    byMethod.set(method, {
      handler,
      access,
      extra: (opts.tokens ?? []).map(digestOf),
      maxBody: opts.maxBody ?? this.limits.max_body,
      ownLimit: opts.maxBody !== undefined,
    });
  }

  /** The address it listens on once started (the real port when 0 was asked for). */
  get address(): ListenAddress {
    if (!this.#address) throw new Error("the HTTP server is not started");
    return this.#address;
  }

  /** `https` with `http.tls`, else `http`. */
  get scheme(): "http" | "https" {
    return this.opts.tls ? "https" : "http";
  }

  async start(listen: ListenAddress): Promise<ListenAddress> {
    this.#listener = await Listener.open(listen, (req, res) => this.#answer(req, res), {
      limits: this.limits,
      tls: this.opts.tls,
      log: this.log,
      refused: this.#refused,
    });
    this.#closed = this.#listener.closed;
    this.#address = this.#listener.address;
    if (!this.auth.enabled && !isLoopback(listen.hostname)) {
      this.log.warn(
        `listening on ${listen.hostname}, reachable from other hosts, without http.auth: ` +
          "event streams, snapshots, /metrics and static files answer anyone; set " +
          "http.auth.tokens (docs/security.md)",
      );
    }
    return this.#address;
  }

  async #answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let response: Response;
    let maxBody = this.limits.max_body;
    try {
      if (this.#listener!.isOverCap(req.socket)) {
        this.#refused?.inc({ reason: "connections" });
        response = jsonError(
          503,
          `too many connections (http.limits.max_connections is ${this.limits.max_connections}); retry later`,
        );
        response.headers.set("retry-after", "1");
        response.headers.set("connection", "close");
      } else {
        const path = pathOf(req.url ?? "/");
        const found = path === undefined
          ? jsonError(400, `malformed request target ${JSON.stringify(req.url)}`)
          : this.#lookup(req.method ?? "GET", path);
        if (!(found instanceof Response)) maxBody = found.maxBody;
        const origin = `${this.scheme}://${req.headers.host ?? "localhost"}`;
        const head = requestHead(req, origin);
        // A handler with its own limit (a source) refuses an oversized body itself.
        const ownLimit = !(found instanceof Response) && found.ownLimit;
        if (!head) {
          response = jsonError(400, `malformed request (target or headers)`);
        } else {
          response = await this.#dispatch(
            head,
            path!,
            found,
            req.socket.remoteAddress ?? "",
            (r) => withBody(r, req, maxBody, ownLimit),
          );
        }
      }
    } catch (error) {
      if (error instanceof ClientGone) return;
      if (error instanceof BodyTooLarge) {
        this.#refused?.inc({ reason: "body" });
        response = jsonError(
          413,
          error.declared === undefined
            ? `body is over this route's limit (${error.limit} bytes)`
            : `body of ${error.declared} bytes is over this route's limit (${error.limit})`,
        );
      } else {
        this.log.error(`request failed: ${(error as Error).message}`);
        response = jsonError(500, "internal error");
      }
    }
    await writeResponse(res, response, this.limits.idle_timeout);
    drainRest(req, maxBody);
  }

  /** The route for `method path`, or the 404 or 405 to answer. */
  #lookup(method: string, path: string): Route | Response {
    const byMethod = this.#routes.get(path);
    if (byMethod) {
      const route = byMethod.get(method) ?? (method === "HEAD" ? byMethod.get("GET") : undefined);
      return route ?? notAllowed(method, path, byMethod);
    }
    const mount = this.#mounts.find((m) => underPrefix(path, m.prefix));
    if (!mount) return jsonError(404, `nothing is served at ${path}`);
    if (method !== "GET" && method !== "HEAD" && method !== "OPTIONS") {
      const response = jsonError(405, `${method} is not allowed on ${path}; use GET`);
      response.headers.set("allow", "GET, HEAD");
      return response;
    }
    return {
      handler: mount.handler,
      access: mount.access,
      extra: [],
      maxBody: this.limits.max_body,
      ownLimit: false,
    };
  }

  /**
   * CORS preflight, routing errors, authentication, then the handler with the request
   * and its body (`body` reads it: only once the request is allowed).
   */
  async #dispatch(
    head: Request,
    path: string,
    found: Route | Response,
    peer: string,
    body: (head: Request) => Promise<Request>,
  ): Promise<Response> {
    const cors = this.#cors;
    if (cors?.isPreflight(head)) {
      // A route or mount that exists answers its preflight (404 stays 404).
      return found instanceof Response && found.status === 404 ? found : cors.preflight(head);
    }
    let response: Response;
    if (found instanceof Response) {
      response = found;
    } else {
      const label = routeLabel(path, found, this.#mounts);
      const refused = this.auth.check(head, label, found.access, found.extra, peer);
      response = refused ? this.#toLogin(head, refused) : await found.handler(await body(head));
    }
    return cors ? cors.decorate(head, response) : response;
  }

  /** A browser opening a page without credentials is sent to the login form instead. */
  #toLogin(request: Request, refused: Response): Response {
    const page = request.method === "GET" &&
      (request.headers.get("accept") ?? "").includes("text/html");
    if (refused.status !== 401 || !page || !this.#routes.get(LOGIN_PATH)?.has("GET")) {
      return refused;
    }
    const url = new URL(request.url);
    const next = encodeURIComponent(url.pathname + url.search);
    return new Response(null, { status: 303, headers: { location: `${LOGIN_PATH}?next=${next}` } });
  }

  /**
   * Runs the stop hooks, stops accepting connections, and waits for the requests in
   * flight, at most `graceMs`: a client that stopped reading cannot hold the engine up.
   * Connections still open then are closed.
   */
  async stop(graceMs = 5000): Promise<void> {
    for (const hook of this.#stopHooks) await hook();
    if (!this.#listener || this.#stopped) return;
    this.#stopped = true;
    await this.#listener.close(graceMs);
  }
}

function notAllowed(method: string, path: string, byMethod: Map<string, Route>): Response {
  const allow = [...byMethod.keys()].join(", ");
  const response = jsonError(405, `${method} is not allowed on ${path}; use ${allow}`);
  response.headers.set("allow", allow);
  return response;
}

/** The label of a route in metrics: its path, or its mount's prefix (not every file). */
function routeLabel(path: string, route: Route, mounts: { prefix: string; handler: Handler }[]) {
  const mount = mounts.find((m) => m.handler === route.handler);
  return mount ? mount.prefix : path;
}
