/**
 * The engine's public face, used by `cli/`: starting it, its config, and what the other
 * commands run offline. The console (`tui/`, and `cli/` commands that only talk to a
 * running engine) uses the lighter `client.ts`, which loads no storage module.
 */
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
export { openOffline as openOfflineDlq } from "./dlq_offline.ts";

// What the commands beyond `run` use: progress lines, tier queries, resharding,
// replication config, validation, and the console SQL process (compiled binaries).
export { renderBar, StatusLine, TerminalProgress } from "./progress.ts";
export { resolvePath } from "./config/load.ts";
export { queryTiers, type Tier, type TierAnswer, TierQueryError, TIERS } from "./tiers/query.ts";
export { litestreamYaml } from "./replication/litestream_config.ts";
export { reshard } from "./store/reshard.ts";
export { MAX_SHARDS } from "./store/reader_db.ts";
export { modeOf } from "./joins/mode.ts";
export { engineIndexes, windowPlans } from "./indexes.ts";
export { plannedWindow, type WindowPlan } from "./windows/plan.ts";
export { runSqlChild } from "./control/sql_child.ts";
export { SQL_RUNNER_ARGUMENT } from "./control/sql_runner_main.ts";
