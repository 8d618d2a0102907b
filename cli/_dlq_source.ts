/**
 * Where `litejoin dlq` finds the queue: the engine's control socket when one answers
 * (`--socket PATH`, else `engine.socket` from `-c FILE`), otherwise `dlq.db` itself.
 */
import {
  ControlClient,
  createLogger,
  type DlqApi,
  loadConfig,
  NoEngineError,
  openOfflineDlq as openOffline,
  type ReplayProgress,
} from "../engine/mod.ts";
import { UsageError } from "./exit.ts";

export interface SourceOptions {
  config: string;
  socket?: string;
  offline?: boolean;
}

export interface OpenedDlq {
  api: DlqApi;
  /** For people: `the engine at PATH` or `PATH/dlq.db (no engine running)`. */
  where: string;
  /** On Ctrl-C: give up claims held here, so the engine can send those entries at once. */
  interrupt(): void;
  close(): Promise<void>;
}

/** The queue of a running engine, over its control socket. */
class RemoteDlq implements DlqApi {
  constructor(readonly client: ControlClient) {}
  stats() {
    return this.client.request<Awaited<ReturnType<DlqApi["stats"]>>>("dlq.stats");
  }
  list(query: Parameters<DlqApi["list"]>[0]) {
    return this.client.request<Awaited<ReturnType<DlqApi["list"]>>>("dlq.list", { ...query });
  }
  show(id: number) {
    return this.client.request<Awaited<ReturnType<DlqApi["show"]>>>("dlq.show", { id });
  }
  async replay(
    selection: Parameters<DlqApi["replay"]>[0],
    onProgress?: (p: ReplayProgress) => void,
  ) {
    const off = onProgress
      ? this.client.on("dlq.replay.progress", (p) => onProgress(p as ReplayProgress))
      : () => {};
    try {
      return await this.client.request<Awaited<ReturnType<DlqApi["replay"]>>>("dlq.replay", {
        ...selection,
        progress: onProgress !== undefined,
      });
    } finally {
      off();
    }
  }
  purge(selection: Parameters<DlqApi["purge"]>[0]) {
    return this.client.request<Awaited<ReturnType<DlqApi["purge"]>>>("dlq.purge", {
      ...selection,
    });
  }
}

export async function openDlq(opts: SourceOptions): Promise<OpenedDlq> {
  if (opts.socket !== undefined && opts.offline) {
    throw new UsageError("--socket and --offline exclude each other");
  }
  if (opts.socket !== undefined) {
    // An explicit socket means "this engine": no engine there is an error (exit 4).
    return remote(await ControlClient.connect(opts.socket));
  }
  const config = await loadConfig(opts.config);
  if (!opts.offline) {
    try {
      return remote(await ControlClient.connect(config.engine.socket!));
    } catch (error) {
      if (!(error instanceof NoEngineError)) throw error;
    }
  }
  const offline = openOffline(config, createLogger({ level: "warn" }));
  return {
    api: offline.api,
    where: `${offline.path} (no engine running)`,
    interrupt: () => offline.releaseClaims(),
    close: () => offline.close(),
  };
}

function remote(client: ControlClient): OpenedDlq {
  return {
    api: new RemoteDlq(client),
    where: `the engine at ${client.path}`,
    // A replay asked of the engine carries on there; nothing is held here.
    interrupt: () => {},
    close: () => Promise.resolve(client.close()),
  };
}

export { UsageError };
