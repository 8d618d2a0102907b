/** The `litejoin` command. */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { VERSION } from "../engine/version.ts";
import { EXIT } from "./exit.ts";
import { run } from "./run.ts";
import { validate } from "./validate.ts";
import { status } from "./status.ts";
import { tui } from "./tui.ts";

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

  cli.command("tui")
    .description("the operations console: attaches to a running engine over its control socket")
    .option("-c, --config <file>", "config file naming the socket (engine.socket)", "litejoin.yaml")
    .option("--socket <path>", "control socket to attach to (instead of the config's)")
    .option("--no-alt-screen", "draw on the normal screen instead of the alternate one")
    .option("--no-color", "no colours (also when NO_COLOR is set)")
    .action((opts) => tui(opts));

  cli.command("status")
    .description("print the engine's health once: shards, topics, joins, windows, sinks, DLQ")
    .option("-c, --config <file>", "config file naming the socket (engine.socket)", "litejoin.yaml")
    .option("--socket <path>", "control socket to ask (instead of the config's)")
    .option("--json", "one JSON object {info, stats} instead of text")
    .action((opts) => status(opts));

  cli.command("internal-sql-runner", { hidden: true })
    .description("runs console SQL for the engine (started by the engine itself)")
    .action(async () => {
      const { runSqlChild } = await import("../engine/control/sql_child.ts");
      await runSqlChild();
    });

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
