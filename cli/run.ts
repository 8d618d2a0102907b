/** `litejoin run`: the engine, headless, until SIGINT or SIGTERM. */
import { Engine, loadConfig } from "../engine/mod.ts";
import { EXIT, fail } from "./exit.ts";
import { terminalOptions } from "./_terminal.ts";

export async function run(opts: { config: string }): Promise<void> {
  // Listen for signals before starting, so that one arriving mid-start still
  // ends in an orderly stop rather than the default kill.
  let signalled: Deno.Signal | undefined;
  let engine: Engine | undefined;
  const onSignal = (signal: Deno.Signal) => () => {
    if (signalled) {
      console.error(
        `litejoin: ${signal} again: exiting now; uncommitted input is not acknowledged`,
      );
      Deno.exit(130);
    }
    signalled = signal;
    if (engine) shutdown(engine, signal);
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
  try {
    const config = await loadConfig(opts.config);
    engine = await Engine.start(config, terminalOptions(config));
  } catch (error) {
    fail(error);
  }
  if (signalled) shutdown(engine, signalled);
}

function shutdown(engine: Engine, signal: Deno.Signal): void {
  engine.log.info(`${signal}: shutting down`);
  engine.stop().then(() => Deno.exit(EXIT.ok), (error) => fail(error));
}
