/** One item of the `joins` section of the config. */
import { type Infer, list, object, oneOf, string } from "../schema/schema.ts";
import { componentName } from "../schema/common.ts";

export const joinSpec = object({
  name: componentName().describe(
    "Name of the join, used in results, logs and metrics.",
    "enriched_orders",
  ),
  key: string().describe("The result column that identifies a result row.", "order_id"),
  sql: string().describe(
    "One SELECT over topics (FROM orders; payload fields are json_extract(payload, '$.field')). " +
      "Checked at validate and at start against the declared topics.",
  ),
  sinks: list(componentName(), { min: 1 }).describe("Sinks that receive the changed results."),
  mode: oneOf(["auto", "delta", "full"] as const).default("auto").describe(
    "auto: delta evaluation when SQLite shows it is exact for the query, else full; " +
      "delta: require it; full: re-run the whole query after every batch.",
  ),
  on_eviction: oneOf(["retract", "keep"] as const).default("retract").describe(
    "When retention or tiering evicts a row a result came from: retract: deliver the " +
      "result's change (a delete, or an update for a LEFT JOIN), as if the row were deleted; " +
      "keep: leave the result as delivered (the join forgets it; needs delta evaluation).",
  ),
});

export type JoinConfig = Infer<typeof joinSpec>;
