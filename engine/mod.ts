/** The engine's public face, used by `cli/` and `tui/`. */
export { Engine, type EngineOptions, LayoutError, LockedError } from "./engine.ts";
export { type Config, ConfigError, loadConfig, parseConfig } from "./config/load.ts";
export { createLogger, type Logger } from "./log.ts";
export type { Clock, Message, Result } from "./types.ts";
export { ControlClient, NoEngineError, RemoteError } from "./control/client.ts";
export { VERSION } from "./version.ts";
export {
  type DlqApi,
  DlqRequestError,
  type Entry as DlqEntry,
  type EntryStatus as DlqEntryStatus,
  type ReplayProgress,
  type ReplaySummary,
  type Stats as DlqStats,
} from "./dlq/api.ts";
export { STATUSES as DLQ_STATUSES } from "./dlq/store.ts";
export { openOffline as openOfflineDlq } from "./dlq/offline.ts";
