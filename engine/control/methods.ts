/** The control methods every engine serves: who it is and how it is configured. */
import type { EngineView } from "./engine_view.ts";
import { VERSION } from "../version.ts";
import type { ControlServer } from "./server.ts";

const SECRET = /token|secret|password|passphrase|private|authorization|credential|api[_-]?key/i;

/**
 * A copy of `value` with secret-looking values replaced: fields whose name says so,
 * and every string inside a TLS (`ssl`) block, which holds keys and certificates.
 */
export function redact(value: unknown, inSecret = false): unknown {
  if (Array.isArray(value)) return value.map((v) => redact(v, inSecret));
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [k, redact(v, inSecret)]));
  }
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map((
        [k, v],
      ) => [k, redact(v, inSecret || SECRET.test(k) || k === "ssl")]),
    );
  }
  return inSecret && typeof value === "string" ? "<redacted>" : value;
}

export function serveEngineInfo(control: ControlServer, engine: EngineView): void {
  control.handle("info", () => ({
    version: VERSION,
    pid: Deno.pid,
    started_at: engine.startedAt,
    uptime_seconds: Math.round((engine.clock.now() - engine.startedAt) / 1000),
    config_file: engine.config.file,
    data_dir: engine.config.engine.data_dir,
    http: `${engine.address.hostname}:${engine.address.port}`,
    shard_count: engine.config.engine.shard_count,
    topics: engine.config.topicNames,
    sources: engine.config.sources.map((s) => ({ name: s.name, type: s.type })),
    joins: engine.joiner.health().map((j) => ({
      name: j.name,
      mode: j.mode,
      topics: engine.config.joinSql.get(j.name)?.topics ?? [],
      sinks: engine.config.joins.find((c) => c.name === j.name)?.sinks ?? [],
    })),
    sinks: engine.config.sinks.map((s) => ({ name: s.name, type: s.type })),
    windows: engine.windower?.health().map((w) => ({ name: w.name, type: w.type })) ?? [],
    replication: engine.config.replication.enabled
      ? {
        mode: engine.config.replication.mode,
        replica_url: engine.config.replication.replica_url,
        ...engine.litestream?.health(),
      }
      : null,
  }));
  control.handle("config", () => {
    const { joinSql: _analyses, ...config } = engine.config;
    return redact(config);
  });
}
