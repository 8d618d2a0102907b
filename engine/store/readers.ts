/** A pool of reader threads, each with every shard attached. */

export type Params = unknown[] | Record<string, unknown>;
export type Row = Record<string, unknown>;

export interface ReaderSetup {
  setup: { dataDir: string; shardCount: number; topics: readonly string[]; busyTimeoutMs: number };
}

export interface ReaderRequest {
  id: number;
  sql: string;
  params?: Params;
  /** Stop after this many rows and say the result was truncated. */
  maxRows?: number;
}

export type ReaderReply =
  | { id: number; rows: Row[]; truncated?: boolean }
  | { id: number; error: string };

export interface QueryResult {
  rows: Row[];
  truncated: boolean;
}

/** An SQL error raised by SQLite in a reader, with the statement that caused it. */
export class QueryError extends Error {
  constructor(message: string, readonly sql: string) {
    super(message);
    this.name = "QueryError";
  }
}

interface Pending {
  resolve: (result: QueryResult) => void;
  reject: (error: Error) => void;
  request: ReaderRequest;
}

class ReaderThread {
  readonly worker: Worker;
  current: Pending | undefined;
  constructor(onReply: (thread: ReaderThread, reply: ReaderReply) => void) {
    this.worker = new Worker(new URL("./reader_worker.ts", import.meta.url), { type: "module" });
    this.worker.onmessage = (event: MessageEvent<ReaderReply>) => onReply(this, event.data);
  }
}

/**
 * Read-only SQL over the topics, on `size` threads so that reads run beside the
 * writer. Each query sees the data committed when it starts, and holds no read
 * transaction once it has answered.
 */
export class Readers {
  readonly #threads: ReaderThread[] = [];
  readonly #idle: ReaderThread[] = [];
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;

  private constructor() {}

  static async open(setup: ReaderSetup["setup"], size: number): Promise<Readers> {
    const readers = new Readers();
    const ready: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      ready.push(
        new Promise((resolve, reject) => {
          const thread = new ReaderThread((t, reply) => {
            if (reply.id !== 0) return readers.#onReply(t, reply);
            t.worker.onmessage = (event: MessageEvent<ReaderReply>) =>
              readers.#onReply(t, event.data);
            if ("error" in reply) reject(new Error(`reader failed to open: ${reply.error}`));
            else resolve();
          });
          thread.worker.onerror = (event) => {
            event.preventDefault();
            reject(new Error(`reader thread failed: ${event.message}`));
          };
          readers.#threads.push(thread);
          readers.#idle.push(thread);
          thread.worker.postMessage({ setup } satisfies ReaderSetup);
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      readers.close();
      throw error;
    }
    return readers;
  }

  /** Runs one statement and returns its rows. Rejects with `QueryError` on SQL errors. */
  query(sql: string, params?: Params, opts: { maxRows?: number } = {}): Promise<QueryResult> {
    if (this.#closed) return Promise.reject(new Error("the readers are closed"));
    return new Promise((resolve, reject) => {
      this.#queue.push({
        resolve,
        reject,
        request: { id: this.#nextId++, sql, params, maxRows: opts.maxRows },
      });
      this.#dispatch();
    });
  }

  /** Rows of one statement; a shorthand for `query(...).rows`. */
  async all(sql: string, params?: Params): Promise<Row[]> {
    return (await this.query(sql, params)).rows;
  }

  #dispatch(): void {
    while (this.#idle.length && this.#queue.length) {
      const thread = this.#idle.pop()!;
      const pending = this.#queue.shift()!;
      thread.current = pending;
      thread.worker.postMessage(pending.request);
    }
  }

  #onReply(thread: ReaderThread, reply: ReaderReply): void {
    const pending = thread.current;
    thread.current = undefined;
    this.#idle.push(thread);
    if (pending && pending.request.id === reply.id) {
      if ("error" in reply) pending.reject(new QueryError(reply.error, pending.request.sql));
      else pending.resolve({ rows: reply.rows, truncated: reply.truncated ?? false });
    }
    this.#dispatch();
  }

  /** Stops every thread; queries still waiting are rejected. */
  close(): void {
    this.#closed = true;
    for (const pending of this.#queue.splice(0)) {
      pending.reject(new Error("the readers are closed"));
    }
    for (const thread of this.#threads) {
      thread.current?.reject(new Error("the readers are closed"));
      thread.worker.terminate();
    }
  }
}
