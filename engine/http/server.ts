/** The one HTTP listener: sources, SSE sinks, `/healthz` and `/metrics` register routes on it. */
import type { ListenAddress } from "../config/units.ts";
import type { Logger } from "../log.ts";
import type { Cors } from "./cors.ts";

export type Handler = (request: Request) => Response | Promise<Response>;

/** A JSON response `{"error": message, ...extra}`: every HTTP error LiteJoin sends looks like this. */
export function jsonError(status: number, message: string, extra: Record<string, unknown> = {}) {
  return Response.json({ error: message, ...extra }, { status });
}

export class HttpServer {
  readonly #routes = new Map<string, Map<string, Handler>>();
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #address: ListenAddress | undefined;
  readonly #stopHooks: (() => void | Promise<void>)[] = [];
  readonly #mounts: { prefix: string; handler: Handler }[] = [];
  #cors: Cors | undefined;
  #closed: Promise<void> = Promise.resolve();

  constructor(readonly log: Logger) {}

  /**
   * Runs `hook` when `stop` begins, before waiting for the requests in flight: a
   * response that never ends by itself (an event stream) must be ended there.
   */
  onStop(hook: () => void | Promise<void>): void {
    this.#stopHooks.push(hook);
  }

  /** Serves GET and HEAD of every path under `prefix` that no route serves (static files). */
  mount(prefix: string, handler: Handler): void {
    if (this.#mounts.some((m) => m.prefix === prefix)) {
      throw new RangeError(`${prefix} is already mounted`);
    }
    this.#mounts.push({ prefix, handler });
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
  route(method: string, path: string, handler: Handler): void {
    let byMethod = this.#routes.get(path);
    if (!byMethod) this.#routes.set(path, byMethod = new Map());
    if (byMethod.has(method)) throw new RangeError(`${method} ${path} is already served`);
    byMethod.set(method, handler);
  }

  /** The address it listens on once started (the real port when 0 was asked for). */
  get address(): ListenAddress {
    if (!this.#address) throw new Error("the HTTP server is not started");
    return this.#address;
  }

  start(listen: ListenAddress): Promise<ListenAddress> {
    return new Promise((resolve, reject) => {
      try {
        this.#server = Deno.serve({
          hostname: listen.hostname,
          port: listen.port,
          onListen: (addr) => {
            this.#address = { hostname: addr.hostname, port: addr.port };
            resolve(this.#address);
          },
          onError: (error) => {
            this.log.error(`request failed: ${(error as Error).message}`);
            return jsonError(500, "internal error");
          },
        }, (request) => this.#cors ? this.#withCors(request, this.#cors) : this.#handle(request));
      } catch (error) {
        const e = error as Error;
        const hint = e.name === "AddrInUse" ? ` (another process uses it; change http.listen)` : "";
        reject(
          new Error(`cannot listen on ${listen.hostname}:${listen.port}: ${e.message}${hint}`),
        );
      }
    });
  }

  #handle(request: Request): Response | Promise<Response> {
    const path = pathOf(request.url);
    const byMethod = this.#routes.get(path);
    if (!byMethod) return this.#mounted(request, path);
    const handler = byMethod.get(request.method) ??
      (request.method === "HEAD" ? byMethod.get("GET") : undefined);
    if (!handler) {
      const allow = [...byMethod.keys()].join(", ");
      const response = jsonError(405, `${request.method} is not allowed on ${path}; use ${allow}`);
      response.headers.set("allow", allow);
      return response;
    }
    return handler(request);
  }

  #mounted(request: Request, path: string): Response | Promise<Response> {
    const mount = this.#mounts.find((m) => underPrefix(path, m.prefix));
    if (!mount) return jsonError(404, `nothing is served at ${path}`);
    if (request.method !== "GET" && request.method !== "HEAD") {
      const response = jsonError(405, `${request.method} is not allowed on ${path}; use GET`);
      response.headers.set("allow", "GET, HEAD");
      return response;
    }
    return mount.handler(request);
  }

  async #withCors(request: Request, cors: Cors): Promise<Response> {
    if (cors.isPreflight(request)) {
      const path = pathOf(request.url);
      if (!this.#routes.has(path) && !this.#mounts.some((m) => underPrefix(path, m.prefix))) {
        return jsonError(404, `nothing is served at ${path}`);
      }
      return cors.preflight(request);
    }
    return cors.decorate(request, await this.#handle(request));
  }

  /**
   * Runs the stop hooks, stops accepting connections, and waits for the requests in
   * flight, at most `graceMs`: a client that stopped reading cannot hold the engine up.
   */
  async stop(graceMs = 5000): Promise<void> {
    for (const hook of this.#stopHooks) await hook();
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    this.#closed = server.shutdown();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.#closed.then(() => false),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), graceMs)),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.log.warn(
        `connections still open ${graceMs} ms after stopping (clients not reading); not waiting for them`,
      );
    }
  }
}

/** Whether `path` is `prefix` or lies under it. */
function underPrefix(path: string, prefix: string): boolean {
  if (prefix === "/" || path === prefix) return true;
  return path.startsWith(prefix.endsWith("/") ? prefix : prefix + "/");
}

/** The path of an absolute URL, without parsing all of it (this runs per request). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  let end = url.length;
  const query = url.indexOf("?", start);
  if (query >= 0) end = query;
  const hash = url.indexOf("#", start);
  if (hash >= 0 && hash < end) end = hash;
  return decodeURIComponent(url.slice(start, end));
}
