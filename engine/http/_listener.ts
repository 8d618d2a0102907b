/**
 * The socket side of the HTTP listener: a `node:http` (or, with TLS, `node:https`)
 * server with the limits of `http.limits` applied, the open connections and how many
 * requests each is serving, the connection cap, and a stop that waits for requests in
 * flight but not for clients that stopped reading.
 */
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import type { ListenAddress } from "../schema/units.ts";
import type { Logger } from "../log.ts";
import type { Counter } from "../metrics.ts";
import type { Limits } from "./limits.ts";
import { CertReloader } from "./tls.ts";

export type RequestListener = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
) => Promise<void>;

export interface ListenerOptions {
  limits: Limits;
  tls?: { certFile: string; keyFile: string; watch: boolean };
  log: Logger;
  /** `litejoin_http_refused_total`, by reason. */
  refused?: Counter;
}

export class Listener {
  /** Open connections, and how many requests each is serving. */
  readonly #sockets = new Map<Socket, number>();
  /** Connections opened past `max_connections`: their requests get 503. */
  readonly #overCap = new WeakSet<Socket>();
  #stopping = false;
  #reloader: CertReloader | undefined;
  #closed: Promise<void> = Promise.resolve();
  #address: ListenAddress | undefined;

  private constructor(
    readonly server: http.Server | https.Server,
    readonly opts: ListenerOptions,
  ) {}

  /** Listens on `listen`, calling `onRequest` for every request. */
  static async open(
    listen: ListenAddress,
    onRequest: RequestListener,
    opts: ListenerOptions,
  ): Promise<Listener> {
    const l = opts.limits;
    const options = {
      headersTimeout: l.header_timeout,
      requestTimeout: l.request_timeout,
      keepAliveTimeout: l.idle_timeout,
      // How often node checks those timeouts (its default is 30 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, l.header_timeout / 4)),
    };
    const made: { listener?: Listener } = {}; // the server needs the handler first
    const handle = (req: http.IncomingMessage, res: http.ServerResponse) =>
      void made.listener!.#serve(req, res, onRequest);
    let reloader: CertReloader | undefined;
    let server: http.Server | https.Server;
    if (opts.tls) {
      reloader = new CertReloader(
        opts.tls.certFile,
        opts.tls.keyFile,
        (pair) => (server as https.Server).setSecureContext({ cert: pair.cert, key: pair.key }),
        opts.log,
      );
      const pair = await reloader.initial();
      server = https.createServer({
        ...options,
        cert: pair.cert,
        key: pair.key,
        handshakeTimeout: l.header_timeout,
      }, handle);
    } else {
      server = http.createServer(options, handle);
    }
    const listener = made.listener = new Listener(server, opts);
    listener.#reloader = reloader;
    server.maxConnections = 2 * l.max_connections;
    server.on(opts.tls ? "secureConnection" : "connection", (s: Socket) => listener.#opened(s));
    server.on("clientError", (error: Error & { code?: string }, socket: Socket) => {
      const [reason, status] = error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? ["timeout", "408 Request Timeout"]
        : error.code === "HPE_HEADER_OVERFLOW"
        ? ["headers", "431 Request Header Fields Too Large"]
        : ["malformed", "400 Bad Request"];
      opts.refused?.inc({ reason });
      if (socket.writable && !socket.destroyed) {
        socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      }
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error & { code?: string }) => {
        const hint = error.code === "EADDRINUSE"
          ? " (another process uses it; change http.listen)"
          : "";
        reject(
          new Error(`cannot listen on ${listen.hostname}:${listen.port}: ${error.message}${hint}`),
        );
      };
      server.once("error", failed);
      server.listen(listen.port, listen.hostname, () => {
        server.off("error", failed);
        resolve();
      });
    });
    server.on("error", (error) => opts.log.error(`listener: ${error.message}`));
    listener.#closed = new Promise((resolve) => server.once("close", () => resolve()));
    const bound = server.address();
    if (!bound || typeof bound === "string") throw new Error("the listener has no TCP address");
    listener.#address = { hostname: bound.address, port: bound.port };
    reloader?.start(opts.tls!.watch);
    return listener;
  }

  get address(): ListenAddress {
    return this.#address!;
  }

  /** Resolves once the listener has stopped and its last connection has ended. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Open connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Whether `socket` was opened past `max_connections` (its requests get 503). */
  isOverCap(socket: Socket): boolean {
    return this.#overCap.has(socket);
  }

  #opened(socket: Socket): void {
    if (this.#sockets.size >= this.opts.limits.max_connections) this.#overCap.add(socket);
    this.#sockets.set(socket, 0);
    socket.once("close", () => this.#sockets.delete(socket));
  }

  async #serve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    onRequest: RequestListener,
  ): Promise<void> {
    const socket = req.socket;
    this.#sockets.set(socket, (this.#sockets.get(socket) ?? 0) + 1);
    try {
      await onRequest(req, res);
    } finally {
      const active = (this.#sockets.get(socket) ?? 1) - 1;
      if (this.#sockets.has(socket)) this.#sockets.set(socket, active);
      if (this.#stopping && active === 0) socket.end();
    }
  }

  /**
   * Stops accepting connections, ends idle ones, and waits for the requests in flight,
   * at most `graceMs`; connections still open then are closed.
   */
  async close(graceMs: number): Promise<void> {
    this.#reloader?.stop();
    this.#stopping = true;
    this.server.close();
    // node's closeIdleConnections misses a connection that served several requests.
    for (const [socket, active] of this.#sockets) if (active === 0) socket.end();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.#closed.then(() => false),
      new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), graceMs)),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.opts.log.warn(
        `connections still open ${graceMs} ms after stopping (clients not reading); closing them`,
      );
      for (const socket of this.#sockets.keys()) socket.destroy();
    }
  }
}
