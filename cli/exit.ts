/** Exit codes, as documented in docs/cli.md, and the one-line error path to them. */
import { ConfigError, NoEngineError } from "../engine/client.ts";

/**
 * The errors meaning the data directory cannot be used (engine/mod.ts's `LayoutError` and
 * `LockedError`), known by name: importing their classes would load the whole engine into
 * every command, `litejoin tui` and `status` included.
 */
const DATA_DIR_ERRORS = new Set(["LayoutError", "LockedError"]);

export const EXIT = {
  ok: 0,
  /** Something failed at run time (a port in use, a disk error). */
  failure: 1,
  /** The command line or the config file is wrong. */
  usage: 2,
  /** The data directory cannot be used as configured (shard count, format, locked). */
  dataDir: 3,
  /** No engine answers at the control socket. */
  noEngine: 4,
  /** `litejoin status`: the engine answers, but a join, window or sink is failing. */
  unhealthy: 5,
  /**
   * `litejoin run`: a second SIGINT or SIGTERM, over a second after the first, ended it
   * before the orderly stop finished; input not yet committed was not acknowledged.
   */
  interrupted: 130,
} as const;

/** Prints an error the way every subcommand does (one line each, no stack) and exits. */
export function fail(error: unknown): never {
  if (error instanceof ConfigError) {
    for (const line of error.lines) console.error(line);
    Deno.exit(EXIT.usage);
  }
  const e = error instanceof Error ? error : new Error(String(error));
  console.error(`litejoin: ${e.message}`);
  if (Deno.env.get("LITEJOIN_DEBUG")) console.error(e.stack);
  if (e instanceof NoEngineError) Deno.exit(EXIT.noEngine);
  Deno.exit(DATA_DIR_ERRORS.has(e.name) ? EXIT.dataDir : EXIT.failure);
}

/** The command line is wrong (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
