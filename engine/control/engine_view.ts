/**
 * What the control methods see of a running engine: its config, clock and log, and
 * the few read-only views they report on. `engine.ts` hands control this, never the
 * whole `Engine`, so control depends on what it reads and nothing else.
 */
import type { Config } from "../config/load.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Clock } from "../types.ts";
import type { JoinHealth } from "../joins/joiner.ts";
import type { WindowHealth } from "../windows/task.ts";
import type { LitestreamProcess } from "../replication/litestream.ts";
import type { StatsDeps } from "./stats.ts";
import type { TailDeps } from "./tail.ts";

export interface EngineView {
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** When the engine started, ms since the epoch. */
  readonly startedAt: number;
  /** Where the HTTP listener is. */
  readonly address: { hostname: string; port: number };
  readonly writer: StatsDeps["writer"];
  readonly readers: StatsDeps["readers"] & TailDeps["readers"];
  readonly joiner: { health(): JoinHealth[] };
  readonly windower?: { health(): WindowHealth[] };
  readonly sinks: ReadonlyMap<string, { readonly backlog: number }>;
  /** The Litestream child, in embedded replication mode. */
  readonly litestream?: Pick<LitestreamProcess, "health">;
}
