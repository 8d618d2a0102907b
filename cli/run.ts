/** `litejoin run`: the engine, headless, until SIGINT or SIGTERM. */
import { Engine, loadConfig } from "../engine/mod.ts";
import { EXIT, fail } from "./exit.ts";

export async function run(opts: { config: string }): Promise<void> {
  let engine: Engine;
  try {
    engine = await Engine.start(await loadConfig(opts.config));
  } catch (error) {
    fail(error);
  }
  let signals = 0;
  const onSignal = (signal: Deno.Signal) => () => {
    signals++;
    if (signals > 1) {
      engine.log.warn(`${signal} again: exiting now; uncommitted input is not acknowledged`);
      Deno.exit(130);
    }
    engine.log.info(`${signal}: shutting down`);
    engine.stop().then(() => Deno.exit(EXIT.ok), (error) => fail(error));
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
}
