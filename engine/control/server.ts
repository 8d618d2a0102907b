/**
 * The control socket: `data_dir/litejoin.sock`, a Unix socket (mode 0600) speaking
 * newline-delimited JSON. The console and `litejoin` subcommands use it.
 *
 * Requests  {"id": 1, "method": "info", "params": {...}}
 * Replies   {"id": 1, "result": ...}  or  {"id": 1, "error": {"message": "...", "code": "..."}}
 * Pushes    {"event": "stats", "data": ...}   after {"method": "subscribe", "params": {"event": "stats"}}
 *
 * Each connection is served independently: a slow client never delays another, and a
 * client whose unread pushes pile up is disconnected.
 */
import type { Logger } from "../log.ts";

/** A handler's failure that the client should see as is (no stack, a stable code). */
export class ControlError extends Error {
  constructor(message: string, readonly code = "bad_request") {
    super(message);
    this.name = "ControlError";
  }
}

export type Params = Record<string, unknown>;

/** One connected client, as handlers see it. */
export interface ControlConnection {
  readonly id: number;
  /** Sends a push event; false if the connection is gone or too far behind. */
  push(event: string, data: unknown): boolean;
  /** Called when the connection closes (to stop subscriptions, cancel queries). */
  onClose(fn: () => void): void;
}

export type Handler = (params: Params, connection: ControlConnection) => unknown | Promise<unknown>;

/** Something that runs while the socket is open: timers, child processes. */
export interface ControlService {
  /** Called once the socket listens. */
  start?(): void;
  /** Called when the socket stops; resolves once everything it started has ended. */
  stop?(): void | Promise<void>;
}

/** The connection that in-process calls (`ControlServer.call`) run on: no pushes. */
const IN_PROCESS: ControlConnection = { id: 0, push: () => false, onClose: () => {} };

/** Pushes queued for one client beyond which it is disconnected. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
const MAX_LINE_BYTES = 1024 * 1024;

class Connection implements ControlConnection {
  readonly subscriptions = new Set<string>();
  readonly #encoder = new TextEncoder();
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing = false;
  #closed = false;
  readonly #closers: (() => void)[] = [];

  constructor(readonly id: number, readonly conn: Deno.Conn, readonly log: Logger) {}

  send(message: unknown): boolean {
    if (this.#closed) return false;
    const bytes = this.#encoder.encode(JSON.stringify(message) + "\n");
    if (this.#queued + bytes.length > MAX_QUEUED_BYTES) {
      this.log.warn(`control client ${this.id} is too far behind; disconnecting it`);
      this.close();
      return false;
    }
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (!this.#writing) void this.#flush();
    return true;
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length && !this.#closed) {
        const chunk = this.#queue.shift()!;
        this.#queued -= chunk.length;
        let written = 0;
        while (written < chunk.length) written += await this.conn.write(chunk.subarray(written));
      }
    } catch {
      this.close();
    } finally {
      this.#writing = false;
    }
  }

  push(event: string, data: unknown): boolean {
    return this.send({ event, data });
  }

  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#closers.push(fn);
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fn of this.#closers.splice(0)) {
      try {
        fn();
      } catch (error) {
        this.log.warn(`control connection cleanup failed: ${(error as Error).message}`);
      }
    }
    try {
      this.conn.close();
    } catch { /* already closed by the peer */ }
  }
}

export class ControlServer {
  readonly #handlers = new Map<string, Handler>();
  readonly #connections = new Set<Connection>();
  readonly #services: ControlService[] = [];
  #listener: Deno.Listener | undefined;
  #nextId = 1;

  constructor(readonly path: string, readonly log: Logger) {
    this.handle("methods", () => [...this.#handlers.keys()].sort());
    this.handle("subscribe", (params, connection) => {
      const event = String(params.event ?? "");
      (connection as Connection).subscriptions.add(event);
      return { subscribed: event };
    });
    this.handle("unsubscribe", (params, connection) => {
      (connection as Connection).subscriptions.delete(String(params.event ?? ""));
      return null;
    });
  }

  /** Whether any client is subscribed to `event` (so producers can skip the work). */
  subscribed(event: string): boolean {
    for (const c of this.#connections) if (c.subscriptions.has(event)) return true;
    return false;
  }

  /** Pushes `event` to every client subscribed to it. */
  publish(event: string, data: unknown): void {
    for (const c of this.#connections) if (c.subscriptions.has(event)) c.push(event, data);
  }

  /** Serves `method` with `handler`; a method is served by one component only. */
  handle(method: string, handler: Handler): void {
    if (this.#handlers.has(method)) {
      throw new RangeError(`control method ${method} is already served`);
    }
    this.#handlers.set(method, handler);
  }

  /** Whether `method` is served (e.g. `dlq.stats` only when the DLQ is enabled). */
  serves(method: string): boolean {
    return this.#handlers.has(method);
  }

  /** Calls a method in-process, as a client would; rejects as the handler does. */
  async call<T = unknown>(method: string, params: Params = {}): Promise<T> {
    const handler = this.#handlers.get(method);
    if (!handler) throw new ControlError(`unknown method "${method}"`, "unknown_method");
    return await handler(params, IN_PROCESS) as T;
  }

  /** Starts `service` with the socket and stops it before the socket closes. */
  attach(service: ControlService): void {
    this.#services.push(service);
  }

  /** Every connected client, e.g. to push an event to all. */
  get connections(): ReadonlySet<ControlConnection> {
    return this.#connections;
  }

  /**
   * Listens at `path`. A socket file left by an engine that died is replaced; one
   * that answers belongs to a running engine, and starting is refused.
   */
  async start(): Promise<void> {
    try {
      const probe = await Deno.connect({ transport: "unix", path: this.path });
      probe.close();
      throw new Error(`an engine already answers at ${this.path}; stop it first`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        // no socket file: nothing to clean up
      } else if (
        error instanceof Deno.errors.ConnectionRefused ||
        error instanceof Deno.errors.ConnectionReset
      ) {
        await Deno.remove(this.path);
      } else {
        throw error;
      }
    }
    try {
      this.#listener = Deno.listen({ transport: "unix", path: this.path });
    } catch (error) {
      const long = new TextEncoder().encode(this.path).length > 100;
      throw new Error(
        `cannot create the control socket ${this.path}: ${(error as Error).message}` +
          (long
            ? " (Unix socket paths are limited to about 100 bytes; set engine.socket to a shorter path)"
            : ""),
      );
    }
    await Deno.chmod(this.path, 0o600);
    for (const service of this.#services) service.start?.();
    void this.#accept(this.#listener);
  }

  async #accept(listener: Deno.Listener): Promise<void> {
    try {
      for await (const conn of listener) {
        const connection = new Connection(this.#nextId++, conn, this.log);
        this.#connections.add(connection);
        void this.#serve(connection).finally(() => {
          connection.close();
          this.#connections.delete(connection);
        });
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) {
        this.log.error(`control socket stopped accepting: ${(error as Error).message}`);
      }
    }
  }

  async #serve(connection: Connection): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of connection.conn.readable) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line) void this.#dispatch(connection, line);
        }
        if (buffer.length > MAX_LINE_BYTES) {
          connection.send({
            id: null,
            error: { message: "request line too long", code: "too_large" },
          });
          return;
        }
        if (connection.closed) return;
      }
    } catch {
      // the client went away mid-read
    }
  }

  async #dispatch(connection: Connection, line: string): Promise<void> {
    let request: { id?: unknown; method?: unknown; params?: unknown };
    try {
      request = JSON.parse(line);
    } catch {
      connection.send({ id: null, error: { message: "request is not JSON", code: "bad_request" } });
      return;
    }
    const id = request.id ?? null;
    const handler = typeof request.method === "string"
      ? this.#handlers.get(request.method)
      : undefined;
    if (!handler) {
      connection.send({
        id,
        error: {
          message: `unknown method ${JSON.stringify(request.method)}`,
          code: "unknown_method",
        },
      });
      return;
    }
    try {
      const params =
        (request.params && typeof request.params === "object" ? request.params : {}) as Params;
      connection.send({ id, result: (await handler(params, connection)) ?? null });
    } catch (error) {
      const e = error as Error;
      if (!(error instanceof ControlError)) {
        this.log.error(`control method ${request.method} failed: ${e.message}`);
      }
      connection.send({
        id,
        error: {
          message: e.message,
          code: error instanceof ControlError ? error.code : "internal",
        },
      });
    }
  }

  /** Closes every connection and removes the socket file. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.#services.map((service) => service.stop?.()));
    this.#listener?.close();
    this.#listener = undefined;
    for (const connection of this.#connections) connection.close();
    await Deno.remove(this.path).catch(() => {});
  }
}
