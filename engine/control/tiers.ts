/**
 * The control-socket face of the tiers, for the console's SQL prompt and scripts:
 *
 *   {"method": "tiers.query", "params": {"sql": "SELECT …", "tier": "warm", "max_rows": 500}}
 *   → {"columns": [...], "rows": [[...], ...], "truncated": false}
 *
 * `tier` is `hot`, `warm`, `cold` or `all` (default `all`); `history: true` returns every
 * stored version with its `_tier`. Mistakes in the SQL come back as `bad_request`.
 */
import type { Config } from "../config/load.ts";
import { ControlError, type ControlServer } from "./server.ts";
import { queryTiers, type Tier, TierQueryError, TIERS } from "../tiers/query.ts";

const MAX_ROWS = 10_000;

export function serveTierQueries(control: ControlServer, config: Config): void {
  control.handle("tiers.query", async (params) => {
    const { sql, tier = "all", history = false, max_rows: maxRows = 1000 } = params;
    if (typeof sql !== "string" || sql.trim() === "") {
      throw new ControlError("params.sql must be one SELECT");
    }
    if (!TIERS.includes(tier as Tier)) {
      throw new ControlError(`params.tier must be one of ${TIERS.join(", ")}`);
    }
    if (!Number.isInteger(maxRows) || (maxRows as number) < 1 || (maxRows as number) > MAX_ROWS) {
      throw new ControlError(`params.max_rows must be a whole number from 1 to ${MAX_ROWS}`);
    }
    try {
      return await queryTiers(sql, {
        config,
        tier: tier as Tier,
        history: history === true,
        maxRows: maxRows as number,
      });
    } catch (error) {
      if (error instanceof TierQueryError) throw new ControlError(error.message);
      throw error;
    }
  });
}
