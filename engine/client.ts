/**
 * The console's face of the engine: the control-socket client, the protocol types and
 * the text formatting of what the engine reports. It loads no storage, query or network
 * library (no node:sqlite, DuckDB, AWS SDK or kafkajs), so the console process stays
 * small; `tools/layers.ts` keeps `tui/` to this file.
 */
export { ControlClient, NoEngineError, RemoteError } from "./control/client.ts";
export type * from "./control/protocol.ts";
export * from "./control/format.ts";
export { dlqSummaryText } from "./control/dlq_summary.ts";
