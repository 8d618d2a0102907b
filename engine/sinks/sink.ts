/** The contract every sink keeps, and what the engine gives it. */
import type { Clock, Result } from "../types.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { HttpServer } from "../http/server.ts";

export interface SinkContext {
  http: HttpServer;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  dataDir: string;
  /** A config path made absolute: relative paths are relative to the config file. */
  resolvePath(path: string): string;
}

/**
 * A destination for results. `send` resolves once the peer has accepted every result
 * of the batch, and throws `DeliveryError` otherwise. A batch may be sent again after
 * a failure or a crash, so the peer sees each result at least once; results carry
 * their key so that the peer can upsert.
 */
export interface Sink {
  readonly name: string;
  send(results: readonly Result[]): Promise<void>;
  /** Releases connections and files. Called once nothing more will be sent. */
  close(): Promise<void>;
  /**
   * For a sink that keeps the result sets it serves across restarts (SSE): declares the
   * sets that feed it, before results flow. A wrapper of a sink forwards it.
   */
  carry?(sets: CarriedSet[]): Promise<void>;
}

/** A result set a sink carries, and, for a join, how to read its current result. */
export interface CarriedSet {
  name: string;
  current?: () => Promise<Result[]>;
}

/** A delivery that failed. Permanent failures (e.g. HTTP 400) are not retried inline. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly opts: { permanent?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "DeliveryError";
  }
  get permanent(): boolean {
    return this.opts.permanent ?? false;
  }
}
