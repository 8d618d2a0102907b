/** The one HTTP listener: sources, SSE sinks, `/healthz` and `/metrics` register routes on it. */
import type { ListenAddress } from "../config/units.ts";
import type { Logger } from "../log.ts";

export type Handler = (request: Request) => Response | Promise<Response>;

/** A JSON response `{"error": message, ...extra}`: every HTTP error LiteJoin sends looks like this. */
export function jsonError(status: number, message: string, extra: Record<string, unknown> = {}) {
  return Response.json({ error: message, ...extra }, { status });
}

export class HttpServer {
  readonly #routes = new Map<string, Map<string, Handler>>();
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #address: ListenAddress | undefined;

  constructor(readonly log: Logger) {}

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
        }, (request) => this.#handle(request));
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
    if (!byMethod) return jsonError(404, `nothing is served at ${path}`);
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

  /** Stops accepting connections and waits for the requests in flight. */
  async stop(): Promise<void> {
    await this.#server?.shutdown();
    this.#server = undefined;
  }
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
