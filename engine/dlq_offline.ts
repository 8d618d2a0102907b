/**
 * The dead-letter queue with no engine running: `litejoin dlq` opens `dlq.db` itself and,
 * to replay, builds the sinks the config describes. Safe while an engine runs too: every
 * entry is claimed before it is sent, so none is sent by both.
 */
import { existsSync } from "node:fs";
import type { Config } from "./config/load.ts";
import { resolvePath } from "./config/load.ts";
import type { Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { HttpServer } from "./http/server.ts";
import { sinkKinds } from "./sinks/registry.ts";
import type { Sink, SinkContext } from "./sinks/sink.ts";
import { systemClock } from "./types.ts";
import { DlqStore } from "./dlq/store.ts";
import { SinkGate } from "./dlq/gate.ts";
import { LocalDlq } from "./dlq/api.ts";
import { LEASE_MS } from "./dlq/dlq.ts";

export interface OfflineDlq {
  api: LocalDlq;
  /** Where the queue is (it may not exist yet: then it reads as empty). */
  path: string;
  /** Gives up every claim this process holds, e.g. on Ctrl-C in the middle of a replay. */
  releaseClaims(): void;
  close(): Promise<void>;
}

/** Opens `<data_dir>/dlq.db` for `config`; a missing file reads as an empty queue and is not created. */
export function openOffline(config: Config, log: Logger): OfflineDlq {
  const path = `${config.engine.data_dir}/dlq.db`;
  const store = new DlqStore(existsSync(path) ? path : ":memory:", {
    synchronous: config.engine.synchronous,
    busyTimeoutMs: config.engine.busy_timeout,
  });
  const built: Sink[] = [];
  const gates = new Map<string, SinkGate>();
  const ctx: SinkContext = {
    http: new HttpServer(log.child("http")),
    clock: systemClock,
    log,
    metrics: new Metrics(),
    dataDir: config.engine.data_dir,
    resolvePath: (p) => resolvePath(config, p),
  };
  /** Builds only the sinks a replay needs: nothing is opened for the others. */
  const buildGates = (names: readonly string[]) => {
    for (const sinkConfig of config.sinks) {
      if (!names.includes(sinkConfig.name) || gates.has(sinkConfig.name)) continue;
      const sink: Sink = sinkKinds[sinkConfig.type].create(
        sinkConfig.name,
        sinkConfig as never,
        { ...ctx, log: log.child(`sink.${sinkConfig.name}`) },
      );
      built.push(sink);
      // Live sends happen only in an engine; here nothing is superseded by the gate.
      gates.set(sinkConfig.name, new SinkGate(sink, sinkConfig.max_batch, () => {}));
    }
    return Promise.resolve(gates);
  };
  const owner = `cli:${Deno.pid}:${crypto.randomUUID().slice(0, 8)}`;
  const api = new LocalDlq(store, {
    sinks: config.sinks.map((s) => s.name),
    gates: buildGates,
    owner,
    leaseMs: LEASE_MS,
    policy: {
      maxAttempts: config.dlq.max_attempts,
      backoff: config.dlq.backoff,
    },
    clock: systemClock,
  });
  return {
    api,
    path,
    releaseClaims: () => void store.releaseAll(owner),
    async close() {
      await Promise.allSettled(built.map((s) => s.close()));
      store.close();
    },
  };
}
