/**
 * Console SQL with a time limit: a small pool of child processes (`sql_child.ts`), each
 * running one query at a time. Stopping a query, because it ran out of time or because
 * its client cancelled or left, kills its process; the next query starts a new one.
 */
import { fileURLToPath as fromFileUrl } from "node:url";
import type { Logger } from "../log.ts";
import type { ControlService } from "./server.ts";
import type { SqlErrorKind, SqlReply, SqlRequest, SqlSetup } from "./sql_child.ts";
import { jsonLine, readJsonLines } from "./_lines.ts";
import { SQL_RUNNER_ARGUMENT } from "./sql_runner_main.ts";

/** Why a query did not give rows: its `kind` is stable, its message is for people. */
export class SqlError extends Error {
  constructor(
    message: string,
    readonly kind: SqlErrorKind | "timeout" | "cancelled" | "crashed",
  ) {
    super(message);
    this.name = "SqlError";
  }
}

export interface SqlRows {
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
  ms: number;
}

/**
 * How to start a console SQL process: the binary itself once compiled (its CLI hands
 * `SQL_RUNNER_ARGUMENT` to `runSqlChild`), else `deno run` of the engine's own entry.
 */
export function sqlRunnerCommand(): { command: string; args: string[] } {
  if ((Deno.build as { standalone?: boolean }).standalone) {
    return { command: Deno.execPath(), args: [SQL_RUNNER_ARGUMENT] };
  }
  return {
    command: Deno.execPath(),
    args: [
      "run",
      "-A",
      "--no-prompt",
      `--config=${fromFileUrl(new URL("../../deno.json", import.meta.url))}`,
      fromFileUrl(new URL("./sql_runner_main.ts", import.meta.url)),
      SQL_RUNNER_ARGUMENT, // names the process in ps, as in a compiled binary
    ],
  };
}

/** Replies may be as large as `maxBytes` plus one row. */
const MAX_REPLY_BYTES = 64 * 1024 * 1024;
const READY_TIMEOUT_MS = 30_000;

/** One child process. */
class SqlProcess {
  readonly #replies: AsyncGenerator<unknown>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stderr = "";
  #nextId = 1;
  #killed = false;
  #exited = false;
  readonly #stderrDone: Promise<void>;
  idleTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(readonly child: Deno.ChildProcess) {
    this.#replies = readJsonLines(child.stdout, MAX_REPLY_BYTES);
    this.#stdin = child.stdin.getWriter();
    void child.status.then(() => this.#exited = true);
    this.#stderrDone = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of child.stderr) {
          this.#stderr = (this.#stderr + decoder.decode(chunk, { stream: true })).slice(-2000);
        }
      } catch { /* the process is gone */ }
    })();
  }

  static async start(setup: SqlSetup): Promise<SqlProcess> {
    const { command, args } = sqlRunnerCommand();
    const child = new Deno.Command(command, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const process = new SqlProcess(child);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await process.#send({ setup });
      const first = await Promise.race([
        process.#replies.next(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`not ready after ${READY_TIMEOUT_MS} ms`)),
            READY_TIMEOUT_MS,
          );
        }),
      ]);
      const reply = first.value as { ready?: boolean; error?: string } | undefined;
      if (!reply?.ready) throw new Error(reply?.error ?? (process.lastError || "it exited"));
      return process;
    } catch (error) {
      await process.kill();
      throw new SqlError(
        `cannot start the query process: ${(error as Error).message}`,
        "crashed",
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Killed, or exited by itself: it can run nothing more. */
  get dead(): boolean {
    return this.#killed || this.#exited;
  }

  get lastError(): string {
    return this.#stderr.trim().split("\n").at(-1) ?? "";
  }

  async #send(message: unknown): Promise<void> {
    await this.#stdin.write(jsonLine(message));
  }

  /** Runs one request; rejects with `SqlError` if the process dies before replying. */
  async run(request: Omit<SqlRequest, "id">): Promise<SqlReply> {
    const id = this.#nextId++;
    try {
      await this.#send({ ...request, id });
      const next = await this.#replies.next();
      if (!next.done) return next.value as SqlReply;
    } catch { /* the process is gone: below */ }
    this.#exited = true;
    throw new SqlError(
      `the query process exited unexpectedly${this.lastError ? `: ${this.lastError}` : ""}`,
      "crashed",
    );
  }

  /** Ends the process at once (SIGKILL) and waits until it is reaped. */
  async kill(): Promise<void> {
    clearTimeout(this.idleTimer);
    if (!this.#killed) {
      this.#killed = true;
      try {
        this.child.kill("SIGKILL");
      } catch { /* already exited */ }
    }
    await this.child.status;
    await this.#stdin.close().catch(() => {});
    await this.#replies.return(undefined).catch(() => {});
    await this.#stderrDone;
  }
}

export interface SqlPoolOptions {
  /** Queries that may run at once (one process each). */
  processes: number;
  /** An idle process is ended after this long. */
  idleMs: number;
}

export interface QueryOptions {
  maxRows: number;
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

interface Waiter {
  resolve: (process: SqlProcess) => void;
  reject: (error: Error) => void;
}

export class SqlPool implements ControlService {
  readonly #idle: SqlProcess[] = [];
  readonly #all = new Set<SqlProcess>();
  readonly #waiting: Waiter[] = [];
  #starting = 0;
  #stopped = false;

  constructor(
    readonly setup: SqlSetup,
    readonly opts: SqlPoolOptions,
    readonly log: Logger,
  ) {}

  /**
   * Runs one read-only statement. Rejects with `SqlError`: `timeout` once `timeoutMs`
   * has passed, `cancelled` when `signal` aborts, `read_only`, `sql_error` or
   * `bad_request` for what the statement itself got wrong.
   */
  async query(sql: string, opts: QueryOptions): Promise<SqlRows> {
    if (opts.signal?.aborted) throw new SqlError("query cancelled", "cancelled");
    const process = await this.#acquire(opts.signal);
    if (opts.signal?.aborted) {
      this.#release(process);
      throw new SqlError("query cancelled", "cancelled");
    }
    let stopped: SqlError | undefined;
    const stop = (error: SqlError) => {
      stopped ??= error;
      void process.kill();
    };
    const onAbort = () => stop(new SqlError("query cancelled", "cancelled"));
    opts.signal?.addEventListener("abort", onAbort);
    const timer = setTimeout(
      () =>
        stop(
          new SqlError(
            `query stopped after ${
              formatMs(opts.timeoutMs)
            } (time limit); narrow it, or add a LIMIT`,
            "timeout",
          ),
        ),
      opts.timeoutMs,
    );
    try {
      const reply = await process.run({ sql, maxRows: opts.maxRows, maxBytes: opts.maxBytes });
      if (stopped) throw stopped;
      if ("error" in reply) throw new SqlError(reply.error, reply.kind);
      return reply;
    } catch (error) {
      throw stopped ?? error;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (stopped || process.dead) await this.#discard(process);
      else this.#release(process);
    }
  }

  async #acquire(signal?: AbortSignal): Promise<SqlProcess> {
    if (this.#stopped) throw new SqlError("the engine is stopping", "cancelled");
    const idle = this.#idle.pop();
    if (idle) {
      clearTimeout(idle.idleTimer);
      return idle;
    }
    if (this.#all.size + this.#starting < this.opts.processes) {
      this.#starting++;
      try {
        const process = await SqlProcess.start(this.setup);
        if (this.#stopped) {
          await process.kill();
          throw new SqlError("the engine is stopping", "cancelled");
        }
        this.#all.add(process);
        return process;
      } finally {
        this.#starting--;
      }
    }
    return await new Promise<SqlProcess>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      this.#waiting.push(waiter);
      signal?.addEventListener("abort", () => {
        const index = this.#waiting.indexOf(waiter);
        if (index < 0) return;
        this.#waiting.splice(index, 1);
        reject(new SqlError("query cancelled", "cancelled"));
      }, { once: true });
    });
  }

  #release(process: SqlProcess): void {
    if (this.#stopped) return void this.#discard(process);
    const waiter = this.#waiting.shift();
    if (waiter) return waiter.resolve(process);
    this.#idle.push(process);
    process.idleTimer = setTimeout(() => {
      const index = this.#idle.indexOf(process);
      if (index >= 0) this.#idle.splice(index, 1);
      void this.#discard(process);
    }, this.opts.idleMs);
  }

  async #discard(process: SqlProcess): Promise<void> {
    this.#all.delete(process);
    await process.kill();
    const waiter = this.#waiting.shift();
    if (!waiter || this.#stopped) return;
    // A query waits for a process: start one in the freed slot.
    this.#acquire().then(waiter.resolve, waiter.reject);
  }

  /** Processes alive now (running or idle). */
  get size(): number {
    return this.#all.size;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const waiter of this.#waiting.splice(0)) {
      waiter.reject(new SqlError("the engine is stopping", "cancelled"));
    }
    this.#idle.length = 0;
    await Promise.all([...this.#all].map((p) => p.kill()));
    this.#all.clear();
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
