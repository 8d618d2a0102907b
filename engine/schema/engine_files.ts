/**
 * Where the engine keeps its files: the `engine.data_dir` and `engine.socket` fields and
 * the rule that turns them into absolute paths. Shared by the store's `engine` section
 * (`store/spec.ts`), the full loader (`config/load.ts`) and the light socket finder
 * (`config/socket.ts`), so that all three read these two fields the same way.
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import { string } from "./schema.ts";

export const dataDirField = () =>
  string().default("./data").describe(
    "Directory of the shard, meta and DLQ databases; relative paths are relative to the config file.",
  );

export const socketField = () =>
  string().optional().describe(
    "Path of the control socket (mode 0600) for litejoin tui, status and dlq. " +
      "Default: <data_dir>/litejoin.sock.",
  );

/**
 * `data_dir` and `socket` as absolute paths: relative ones are relative to the directory
 * of the config `file`; no `socket` means `<data_dir>/litejoin.sock`.
 */
export function engineFiles(
  file: string,
  fields: { data_dir: string; socket?: string },
): { data_dir: string; socket: string } {
  const base = dirname(resolve(file));
  const dataDir = isAbsolute(fields.data_dir) ? fields.data_dir : join(base, fields.data_dir);
  const socket = fields.socket
    ? isAbsolute(fields.socket) ? fields.socket : join(base, fields.socket)
    : join(dataDir, "litejoin.sock");
  return { data_dir: dataDir, socket };
}
