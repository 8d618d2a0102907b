/** `litejoin validate`: checks a config file, including every join's and window's SQL, without starting anything. */
import { loadConfig } from "../engine/mod.ts";
import { fail } from "./exit.ts";
import { modeOf } from "../engine/joins/mode.ts";

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
  } catch (error) {
    fail(error);
  }
}
