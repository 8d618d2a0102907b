/** A client of the control socket, for the console and `litejoin` subcommands. */

/** Nothing answers at the socket path. */
export class NoEngineError extends Error {
  constructor(readonly path: string) {
    super(
      `no engine is listening at ${path} (start one with litejoin run -c FILE, or point at it with --socket PATH)`,
    );
    this.name = "NoEngineError";
  }
}

/** The engine refused or failed a request; `code` is stable, `message` is for people. */
export class RemoteError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
    this.name = "RemoteError";
  }
}

type Reply = { id: number; result?: unknown; error?: { message: string; code: string } };
type Push = { event: string; data: unknown };

export class ControlClient {
  readonly #waiting = new Map<number, PromiseWithResolvers<unknown>>();
  readonly #listeners = new Map<string, Set<(data: unknown) => void>>();
  readonly #closers: (() => void)[] = [];
  readonly #encoder = new TextEncoder();
  #nextId = 1;
  #closed = false;
  #writing: Promise<unknown> = Promise.resolve();

  private constructor(readonly path: string, readonly conn: Deno.UnixConn) {
    void this.#read();
  }

  /** Connects, or throws `NoEngineError` when no engine listens at `path`. */
  static async connect(path: string): Promise<ControlClient> {
    try {
      return new ControlClient(path, await Deno.connect({ transport: "unix", path }));
    } catch (error) {
      if (
        error instanceof Deno.errors.NotFound || error instanceof Deno.errors.ConnectionRefused ||
        error instanceof Deno.errors.ConnectionReset
      ) {
        throw new NoEngineError(path);
      }
      throw error;
    }
  }

  /** Sends a request and resolves with its result; rejects with `RemoteError`. */
  request<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new NoEngineError(this.path));
    const id = this.#nextId++;
    const waiter = Promise.withResolvers<unknown>();
    this.#waiting.set(id, waiter);
    const line = this.#encoder.encode(JSON.stringify({ id, method, params }) + "\n");
    this.#writing = this.#writing.then(() => this.#writeAll(line)).catch(() => this.close());
    return waiter.promise as Promise<T>;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.length) written += await this.conn.write(bytes.subarray(written));
  }

  /** Calls `fn` with each pushed `event` (subscribe first). Returns an unsubscriber. */
  on(event: string, fn: (data: unknown) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, set = new Set());
    set.add(fn);
    return () => set!.delete(fn);
  }

  /** Subscribes to a pushed event stream and calls `fn` for each event. */
  async subscribe(event: string, fn: (data: unknown) => void): Promise<() => void> {
    const off = this.on(event, fn);
    await this.request("subscribe", { event });
    return off;
  }

  /** Calls `fn` once the connection is gone (engine stopped, or `close`). */
  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#closers.push(fn);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of this.conn.readable) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.trim()) this.#receive(JSON.parse(line) as Reply | Push);
        }
      }
    } catch {
      // the engine went away
    }
    this.close();
  }

  #receive(message: Reply | Push): void {
    if ("event" in message) {
      for (const fn of this.#listeners.get(message.event) ?? []) fn(message.data);
      return;
    }
    const waiter = this.#waiting.get(message.id);
    if (!waiter) return;
    this.#waiting.delete(message.id);
    if (message.error) waiter.reject(new RemoteError(message.error.message, message.error.code));
    else waiter.resolve(message.result);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
    for (const waiter of this.#waiting.values()) waiter.reject(new NoEngineError(this.path));
    this.#waiting.clear();
    for (const fn of this.#closers.splice(0)) fn();
  }
}
