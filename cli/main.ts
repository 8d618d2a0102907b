/** The `litejoin` command. */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { VERSION } from "../engine/version.ts";
import { EXIT } from "./exit.ts";
import { run } from "./run.ts";
import { validate } from "./validate.ts";
import { dlqCommand } from "./dlq.ts";
import { reshardCommand } from "./reshard.ts";
import { replicationConfig, replicationMode } from "./replication.ts";
import { healthcheck } from "./healthcheck.ts";

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

  cli.command("healthcheck")
    .description(
      "exit 0 if a running engine answers /healthz, else 1 (for container health checks)",
    )
    .option("-c, --config <file>", "config file (for http.listen)", "litejoin.yaml")
    .option("--url <url>", "the /healthz URL to ask instead")
    .option("--timeout <seconds>", "time allowed for the answer", "3")
    .action((opts) => healthcheck(opts));

  cli.command("reshard")
    .description("rewrite the data offline into another shard count (stop the engine first)")
    .requiredOption("--to <n>", "the new shard count")
    .option("-c, --config <file>", "config file", "litejoin.yaml")
    .action((opts) => reshardCommand(opts));

  const replication = cli.command("replication").description("Litestream replication");
  replication.command("config")
    .description("print a litestream.yml for the current shards, meta.db and dlq.db (sidecar mode)")
    .option("-c, --config <file>", "config file", "litejoin.yaml")
    .option("--exec <command>", "also write `exec:`, so `litestream replicate` runs this command")
    .action((opts) => replicationConfig(opts));
  replication.command("mode")
    .description("print off, sidecar or embedded (for start-up scripts)")
    .option("-c, --config <file>", "config file", "litejoin.yaml")
    .action((opts) => replicationMode(opts));

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
