/** The contract every source keeps, and what the engine gives it. */
import type { Clock } from "../types.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Writer } from "../store/writer.ts";
import type { Meta } from "../store/meta.ts";
import type { HttpServer } from "../http/server.ts";

export interface SourceContext {
  writer: Writer;
  http: HttpServer;
  meta: Meta;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}

/**
 * A source turns outside data into messages and hands them to the writer. It tells
 * its peer that data is accepted only after `writer.write` has resolved, i.e. after
 * the commit that holds it.
 */
export interface Source {
  readonly name: string;
  /** Begins producing; resolves once ready (routes registered, connected, scheduled). */
  start(): Promise<void>;
  /** Stops taking data and resolves once every write it started has settled. */
  stop(): Promise<void>;
}
