/** `litejoin run`: the engine, headless, until SIGINT or SIGTERM. */
import { Engine, loadConfig } from "../engine/mod.ts";
import { EXIT, fail } from "./exit.ts";
import { terminalOptions } from "./_terminal.ts";
import { REPEAT_WINDOW_MS, type StopSignal, StopSignals } from "./_signals.ts";

export async function run(opts: { config: string }): Promise<void> {
  // Listen for signals before starting, so that one arriving mid-start still
  // ends in an orderly stop rather than the default kill.
  let engine: Engine | undefined;
  const signals = new StopSignals({
    now: () => Date.now(),
    stop: (signal) => engine && shutdown(engine, signal),
    force: (signal) => {
      console.error(
        `litejoin: ${signal} again: exiting now; uncommitted input is not acknowledged`,
      );
      Deno.exit(EXIT.interrupted);
    },
  });
  signals.listen();
  try {
    const config = await loadConfig(opts.config);
    engine = await Engine.start(config, terminalOptions(config));
  } catch (error) {
    fail(error);
  }
  if (signals.signal) shutdown(engine, signals.signal);
}

function shutdown(engine: Engine, signal: StopSignal): void {
  const again = signal === "SIGINT" ? "Ctrl-C" : "SIGTERM";
  engine.log.info(
    `${signal}: shutting down gracefully (committing batches, finishing deliveries); ` +
      `${again} again after ${REPEAT_WINDOW_MS / 1000} s exits at once`,
  );
  engine.stop().then(() => Deno.exit(EXIT.ok), (error) => fail(error));
}
