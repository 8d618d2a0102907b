/**
 * Which control socket a command talks to, and the check that an engine answers there.
 * Reads only `engine.socket` / `engine.data_dir` of the config (engine/client.ts's
 * `socketOfConfig`), so `litejoin tui` and `status` do not load the engine.
 */
import { ControlClient, NoEngineError, socketOfConfig } from "../engine/client.ts";

export interface SocketOptions {
  socket?: string;
  config: string;
}

/** `--socket`, else the socket of the config file (`engine.socket`, default `<data_dir>/litejoin.sock`). */
export async function socketPath(opts: SocketOptions): Promise<string> {
  if (opts.socket) return opts.socket;
  return await socketOfConfig(opts.config);
}

/** Connects once; throws `NoEngineError` when nothing answers at `path`. */
export async function connect(path: string): Promise<ControlClient> {
  return await ControlClient.connect(path);
}

export { NoEngineError };
