/**
 * The light face of the engine: the control-socket client, the protocol types, the text
 * formatting of what the engine reports, the control socket a config file names, and the
 * few names `cli/main.ts` needs to describe its commands. It loads no storage, query or
 * network library (no node:sqlite, DuckDB, AWS SDK or kafkajs), so the console process
 * and the CLI's start stay small; `tools/layers.ts` keeps `tui/` to this file and checks
 * that nothing it reaches loads those modules.
 */
export { ControlClient, NoEngineError, RemoteError } from "./control/client.ts";
export type * from "./control/protocol.ts";
export * from "./control/format.ts";
export { dlqSummaryText } from "./control/dlq_summary.ts";
export { socketOfConfig } from "./config/socket.ts";
export { ConfigError } from "./schema/config_error.ts";
export { VERSION } from "./version.ts";
export { type Tier, TIERS } from "./tiers/tier.ts";
export { SQL_RUNNER_ARGUMENT } from "./control/sql_runner_argument.ts";
export { renderBar } from "./progress.ts";
export { type EntryStatus as DlqEntryStatus, STATUSES as DLQ_STATUSES } from "./dlq/entry.ts";
