/**
 * The `litejoin` command. Each command's module is loaded with `import()` when that
 * command runs, so `litejoin tui` and `status`, which only talk to the control socket,
 * do not load the engine (node:sqlite, DuckDB, the AWS SDK, kafkajs): this file and what
 * it imports statically stay on `engine/client.ts` (checked by tools/check_layers.ts).
 * The specifiers are literal, so `deno compile` embeds every command.
 */
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import { SQL_RUNNER_ARGUMENT, TIERS, VERSION } from "../engine/client.ts";
import { EXIT } from "./exit.ts";
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
    .action(async (opts) => (await import("./run.ts")).run(opts));

  cli.command("init")
    .description("write the starter config (runs with no external services)")
    .option("-c, --config <file>", "where to write it", "litejoin.yaml")
    .option("--force", "overwrite the file if it exists")
    .action(async (opts) => (await import("./init.ts")).init(opts));

  cli.command("validate")
    .description("check a config file, including every join's SQL, without starting anything")
    .option("-c, --config <file>", "config file", "litejoin.yaml")
    .action(async (opts) => (await import("./validate.ts")).validate(opts));

  cli.addCommand(dlqCommand());

  cli.command("healthcheck")
    .description(
      "exit 0 if a running engine answers /healthz (or /readyz with --ready), else 1 (for container health checks)",
    )
    .option("-c, --config <file>", "config file (for http.listen)", "litejoin.yaml")
    .option("--ready", "ask /readyz: ready to take input and deliver, not only alive")
    .option("--url <url>", "the /healthz or /readyz URL to ask instead")
    .option("--timeout <seconds>", "time allowed for the answer", "3")
    .action(async (opts) => (await import("./healthcheck.ts")).healthcheck(opts));

  cli.command("reshard")
    .description("rewrite the data offline into another shard count (stop the engine first)")
    .requiredOption("--to <n>", "the new shard count")
    .option("-c, --config <file>", "config file", "litejoin.yaml")
    .action(async (opts) => (await import("./reshard.ts")).reshardCommand(opts));

  const replication = cli.command("replication").description("Litestream replication");
  replication.command("config")
    .description("print a litestream.yml for the current shards, meta.db and dlq.db (sidecar mode)")
    .option("-c, --config <file>", "config file", "litejoin.yaml")
    .option("--exec <command>", "also write `exec:`, so `litestream replicate` runs this command")
    .action(async (opts) => (await import("./replication.ts")).replicationConfig(opts));
  replication.command("mode")
    .description("print off, sidecar or embedded (for start-up scripts)")
    .option("-c, --config <file>", "config file", "litejoin.yaml")
    .action(async (opts) => (await import("./replication.ts")).replicationMode(opts));

  cli.command("query")
    .description(
      "answer one SELECT, written as for the hot tier, from the hot, warm and cold tiers",
    )
    .argument("<sql>", 'one SELECT, e.g. "SELECT count(*) FROM orders"')
    .option("-c, --config <file>", "config file", "litejoin.yaml")
    .addOption(
      new Option("--tier <tier>", "which tiers to read").choices(TIERS).default("all" as const),
    )
    .option("--history", "every stored version, with the tier that holds it (_tier)")
    .addOption(new Option("--json", "print a JSON array of row objects").conflicts("csv"))
    .option("--csv", "print CSV with a header line")
    .option("--max-rows <n>", "print at most this many rows (0: all)", "10000")
    .action(async (sql, opts) => (await import("./query.ts")).query(sql, opts));

  cli.command("tui")
    .description("the operations console: attaches to a running engine over its control socket")
    .option("-c, --config <file>", "config file naming the socket (engine.socket)", "litejoin.yaml")
    .option("--socket <path>", "control socket to attach to (instead of the config's)")
    .option("--no-alt-screen", "draw on the normal screen instead of the alternate one")
    .option("--no-color", "no colours (also when NO_COLOR is set)")
    .action(async (opts) => (await import("./tui.ts")).tui(opts));

  cli.command("status")
    .description("print the engine's health once: shards, topics, joins, windows, sinks, DLQ")
    .option("-c, --config <file>", "config file naming the socket (engine.socket)", "litejoin.yaml")
    .option("--socket <path>", "control socket to ask (instead of the config's)")
    .option("--json", "one JSON object {info, stats} instead of text")
    .action(async (opts) => (await import("./status.ts")).status(opts));

  cli.command(SQL_RUNNER_ARGUMENT, { hidden: true })
    .description("runs console SQL for the engine (started by the compiled engine itself)")
    .action(async () => (await import("../engine/mod.ts")).runSqlChild());

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
