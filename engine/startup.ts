/**
 * The HTTP address while the engine starts. Restoring databases from a replica, building
 * indexes, or catching joins and windows up on what committed while the engine was down
 * can take minutes; meanwhile the address already answers: `/healthz` 200 (alive, and
 * starting), `/readyz` 503 with what the engine is doing, every other request 503 with
 * `Retry-After`. A liveness probe then does not kill an engine in the middle of a long
 * restore, and clients get an answer to retry on. The engine's own listener takes the
 * address over once everything is up.
 */
import type { ListenAddress } from "./schema/units.ts";
import type { Clock } from "./types.ts";

export class StartupListener {
  /** What the engine is doing now, as `/readyz` says it: "catching joins up", say. */
  phase = "starting";
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;

  private constructor(readonly clock: Clock, readonly startedAt: number) {}

  /**
   * Listens on `listen`, unless its port is 0 (a port picked at random is known to no
   * one until the engine's own listener reports it). Throws, as the engine's listener
   * would, when the address cannot be used. With `tls`, it answers over HTTPS as the
   * engine's listener will, so probes that speak HTTPS see "starting", not a failed handshake.
   */
  static start(
    listen: ListenAddress,
    clock: Clock,
    tls?: { cert: string; key: string },
  ): StartupListener {
    const startup = new StartupListener(clock, clock.now());
    if (listen.port === 0) return startup;
    try {
      startup.#server = Deno.serve({
        hostname: listen.hostname,
        port: listen.port,
        ...tls,
        onListen: () => {},
      }, (request) => startup.#answer(request));
    } catch (error) {
      const e = error as Error;
      const hint = e.name === "AddrInUse" ? ` (another process uses it; change http.listen)` : "";
      throw new Error(`cannot listen on ${listen.hostname}:${listen.port}: ${e.message}${hint}`);
    }
    return startup;
  }

  #answer(request: Request): Response {
    const path = new URL(request.url).pathname;
    if (path === "/healthz") {
      return Response.json({
        status: "starting",
        phase: this.phase,
        uptime_seconds: Math.round((this.clock.now() - this.startedAt) / 1000),
      });
    }
    const body = path === "/readyz"
      ? { status: "not ready", reasons: [{ check: "starting", message: this.phase }] }
      : { error: `the engine is starting (${this.phase}); retry shortly` };
    return Response.json(body, { status: 503, headers: { "retry-after": "5" } });
  }

  /** Frees the address for the engine's listener, once the requests in flight are answered. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.shutdown();
  }
}
