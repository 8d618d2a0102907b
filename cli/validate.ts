/** `litejoin validate`: checks a config file, including every join's and window's SQL, without starting anything. */
import { loadConfig } from "../engine/mod.ts";
import { fail } from "./exit.ts";
import { modeOf } from "../engine/mod.ts";
import { type WindowPlan, windowPlans } from "../engine/mod.ts";

export async function validate(opts: { config: string }): Promise<void> {
  try {
    const config = await loadConfig(opts.config);
    const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
    console.log(
      `${opts.config}: ok (${count(config.sources.length, "source")}, ${
        count(config.joins.length, "join")
      }, ${config.windows.length ? `${count(config.windows.length, "window")}, ` : ""}` +
        `${count(config.sinks.length, "sink")}; topics: ${config.topicNames.join(", ") || "none"})`,
    );
    for (const join of config.joins) {
      const { mode, reason } = modeOf(join, config.joinDelta.get(join.name));
      console.log(`  join ${join.name}: mode ${mode} (${reason})`);
    }
    const plans = windowPlans(config);
    for (const window of config.windows) {
      const sql = config.windowSql.get(window.name)!;
      const plan = plans.get(window.name)!;
      console.log(`  window ${window.name}: ${window.type} on ${sql.topic}${windowReads(plan)}`);
    }
  } catch (error) {
    fail(error);
  }
}

/** How one window of a window's SQL reads its topics, as `validate` says it. */
function windowReads(plan: WindowPlan): string {
  const parts: string[] = [];
  if (plan.searches.length) parts.push(`reads through index ${plan.searches.join(", ")}`);
  if (plan.scans.length) {
    parts.push(
      `reads all of ${plan.scans.join(", ")} for every window (no index serves its filter)`,
    );
  }
  return parts.length ? `; ${parts.join("; ")}` : "";
}
