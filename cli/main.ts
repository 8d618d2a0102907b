/** The `litejoin` command. */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { VERSION } from "../engine/version.ts";
import { EXIT } from "./exit.ts";
import { run } from "./run.ts";
import { validate } from "./validate.ts";
import { dlqCommand } from "./dlq.ts";

export function program(): Command {
  const cli = new Command("litejoin")
    .description(
      "A stream-processing engine in one process: sources, SQL joins and windows over sharded SQLite, sinks.",
    )
    .version(VERSION)
    .showHelpAfterError("(run litejoin --help for usage)")
    .exitOverride();

  cli.command("run")
    .description("run the engine headless until SIGINT or SIGTERM")
    .option("-c, --config <file>", "config file", "litejoin.yaml")
    .action((opts) => run(opts));

  cli.command("validate")
    .description("check a config file, including every join's SQL, without starting anything")
    .option("-c, --config <file>", "config file", "litejoin.yaml")
    .action((opts) => validate(opts));

  cli.addCommand(dlqCommand());

  return cli as unknown as Command;
}

if (import.meta.main) {
  try {
    await program().parseAsync(Deno.args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      Deno.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
    }
    throw error;
  }
}
