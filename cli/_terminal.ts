/**
 * On a terminal, `litejoin run` keeps a status line below its log for the progress of
 * long tiering runs; log lines scroll above it. Elsewhere (pipes, files, systemd) the
 * log is plain lines and no bar is drawn.
 */
import { type Config, createLogger, type EngineOptions } from "../engine/mod.ts";
import { StatusLine, TerminalProgress } from "../engine/mod.ts";

export function terminalOptions(config: Config): EngineOptions {
  if (!config.tiering.enabled || !Deno.stderr.isTerminal()) return {};
  const encoder = new TextEncoder();
  const status = new StatusLine((text) => Deno.stderr.writeSync(encoder.encode(text)));
  return {
    log: createLogger({
      level: config.log.level,
      format: config.log.format,
      write: (line) => status.log(line),
    }),
    progress: new TerminalProgress(status, { columns: () => Deno.consoleSize().columns }),
  };
}
