/** Which control socket a command talks to, and the check that an engine answers there. */
import { ControlClient, loadConfig, NoEngineError } from "../engine/mod.ts";

export interface SocketOptions {
  socket?: string;
  config: string;
}

/** `--socket`, else the socket of the config file (`engine.socket`, default `<data_dir>/litejoin.sock`). */
export async function socketPath(opts: SocketOptions): Promise<string> {
  if (opts.socket) return opts.socket;
  return (await loadConfig(opts.config)).engine.socket!;
}

/** Connects once; throws `NoEngineError` when nothing answers at `path`. */
export async function connect(path: string): Promise<ControlClient> {
  return await ControlClient.connect(path);
}

export { NoEngineError };
