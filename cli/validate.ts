/** `litejoin validate`: checks a config file, including every join's and window's SQL, without starting anything. */
import { loadConfig } from "../engine/mod.ts";
import { fail } from "./exit.ts";

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
  } catch (error) {
    fail(error);
  }
}
