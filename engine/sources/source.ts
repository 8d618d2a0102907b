/** The contract every source keeps, and what the engine gives it. */
import type { Clock } from "../types.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Writer } from "../store/writer.ts";
import type { Meta } from "../store/meta.ts";
import type { HttpServer } from "../http/server.ts";
import type { Rejects } from "../dlq/dlq.ts";

export interface SourceContext {
  writer: Writer;
  http: HttpServer;
  meta: Meta;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /**
   * Where an input that cannot be stored goes (a Kafka message that is not JSON, an API
   * item without its key): `await ctx.dlq?.reject({source, reason, raw, key?, detail?})`
   * resolves once it is kept in dlq.db, so the source may then move past it. The engine
   * always sets it; it is optional only so that contexts built by hand in tests need not.
   */
  dlq?: Rejects;
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
  /**
   * Why it cannot take data now (its peer unreachable, say), or undefined while it
   * can. Sources that only answer requests (HTTP) have nothing to report.
   */
  failing?(): string | undefined;
}
