/**
 * `litejoin dlq list|show|replay|purge|stats`: the dead-letter queue, through a running
 * engine's control socket or, with none running, directly on `dlq.db`.
 */
import { Command, InvalidArgumentError } from "@commander-js/extra-typings";
import {
  DLQ_STATUSES as STATUSES,
  type DlqEntryStatus,
  NoEngineError,
  RemoteError,
} from "../engine/client.ts";
import { EXIT, fail, UsageError } from "./exit.ts";
import type { OpenedDlq, SourceOptions } from "./_dlq_source.ts";
import { formatEntry, formatList, formatStats, plural } from "./_dlq_format.ts";
import { progressBar } from "./_progress.ts";

const integer = (what: string, min: number) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new InvalidArgumentError(`${what} must be an integer of at least ${min}`);
  }
  return Number(value);
};
const positiveInt = (what: string) => integer(what, 1);

const status = (value: string) => {
  if (!(STATUSES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${STATUSES.join(", ")}`);
  }
  return value as DlqEntryStatus;
};

/** Adds the options every `dlq` subcommand has: where the engine or the queue is. */
function located(command: Command) {
  return command
    .option("-c, --config <file>", "config file (finds the socket and dlq.db)", "litejoin.yaml")
    .option("--socket <path>", "control socket of a running engine (no engine there: exit 4)")
    .option("--offline", "work on dlq.db directly, even if an engine runs");
}

export function dlqCommand(): Command {
  const dlq = new Command("dlq")
    .description(
      "inspect, replay and purge the dead-letter queue (failed deliveries, rejected inputs)",
    )
    .showHelpAfterError("(run litejoin dlq --help for usage)")
    .exitOverride();

  located(dlq.command("stats"))
    .description("entries per sink and status, and rejected inputs per source")
    .option("--json", "print JSON")
    .action((opts) =>
      withDlq(opts, async (q) => {
        const stats = await q.api.stats();
        if (opts.json) return printJson(stats);
        console.log(formatStats(stats));
      })
    );

  located(dlq.command("list"))
    .description("list entries, oldest first")
    .option("--sink <name>", "only this sink's entries")
    .option("--status <status>", `only entries in this status (${STATUSES.join(", ")})`, status)
    .option("--source <name>", "only entries of this join, window or source")
    .option("--limit <n>", "at most this many", positiveInt("--limit"), 100)
    .option("--offset <n>", "skip this many", integer("--offset", 0), 0)
    .option("--json", "print JSON: {entries: [...]}")
    .action((opts) =>
      withDlq(opts, async (q) => {
        const { entries } = await q.api.list({
          sink: opts.sink,
          status: opts.status,
          source: opts.source,
          limit: opts.limit,
          offset: opts.offset,
        });
        if (opts.json) return printJson({ entries });
        console.log(formatList(entries, Date.now()));
        if (entries.length === opts.limit) {
          console.error(
            `(first ${opts.limit}; see more with --offset ${opts.offset + opts.limit})`,
          );
        }
      })
    );

  located(dlq.command("show"))
    .description("one entry in full, with its payload")
    .argument("<id>", "entry id", positiveInt("id"))
    .option("--json", "print JSON")
    .action((id, opts) =>
      withDlq(opts, async (q) => {
        const entry = await q.api.show(id);
        if (opts.json) return printJson(entry);
        console.log(formatEntry(entry, Date.now()));
      })
    );

  located(dlq.command("replay"))
    .description("send entries again now: one by id, a sink's, or all (retrying and dead)")
    .argument("[id]", "entry id", positiveInt("id"))
    .option("--sink <name>", "every entry of this sink")
    .option("--all", "every entry")
    .option("--json", "print the summary as JSON")
    .action((id, opts) => {
      const chosen = [id !== undefined, opts.sink !== undefined, opts.all === true];
      if (chosen.filter(Boolean).length !== 1) {
        failDlq(new UsageError("say what to replay: an entry ID, --sink NAME or --all"));
      }
      return withDlq(opts, async (q) => {
        const bar = opts.json ? undefined : progressBar("replaying", "entries");
        const summary = await q.api.replay(
          { id, sink: opts.sink, all: opts.all },
          bar &&
            ((p) => bar.update(p.done, p.total, `${p.delivered} delivered, ${p.failed} failed`)),
        );
        bar?.end();
        if (opts.json) printJson(summary);
        else {
          console.log(
            `replayed ${
              plural(summary.replayed, "entry", "entries")
            }: ${summary.delivered} delivered, ` +
              `${summary.failed} failed` +
              (summary.skipped
                ? `; ${summary.skipped} skipped (in flight elsewhere or superseded)`
                : ""),
          );
        }
        if (summary.failed > 0) return EXIT.failure;
      });
    });

  located(dlq.command("purge"))
    .description("delete entries: one by id, or by --sink and --status, or --all")
    .argument("[id]", "entry id", positiveInt("id"))
    .option("--sink <name>", "entries of this sink")
    .option("--status <status>", `entries in this status (${STATUSES.join(", ")})`, status)
    .option("--all", "every entry")
    .option("-y, --yes", "do not ask for confirmation (for scripts)")
    .option("--json", "print the result as JSON")
    .action((id, opts) => {
      const narrowed = id !== undefined || opts.sink !== undefined || opts.status !== undefined;
      if (narrowed === (opts.all === true)) {
        failDlq(
          new UsageError(
            opts.all
              ? "--all cannot be combined with an ID, --sink or --status"
              : "say what to purge: an entry ID, --sink NAME, --status STATUS, or --all",
          ),
        );
      }
      if (!opts.yes && !Deno.stdin.isTerminal()) {
        failDlq(
          new UsageError("purge asks for confirmation: run it in a terminal, or pass --yes"),
        );
      }
      const selection = { id, sink: opts.sink, status: opts.status, all: opts.all };
      return withDlq(opts, async (q) => {
        if (!opts.yes) {
          const { purged: count } = await q.api.purge({ ...selection, dry_run: true });
          if (count === 0) {
            console.log("nothing to purge");
            return;
          }
          if (
            !confirm(
              `Delete ${plural(count, "entry", "entries")} (${
                describe(selection)
              }) from ${q.where}?`,
            )
          ) {
            console.error("litejoin: purge cancelled; nothing was deleted");
            return EXIT.failure;
          }
        }
        const result = await q.api.purge(selection);
        if (opts.json) printJson(result);
        else console.log(`purged ${plural(result.purged, "entry", "entries")}`);
      });
    });

  return dlq as unknown as Command;
}

/** Opens the queue, runs `fn`, closes it, and exits with `fn`'s code (0 by default). */
async function withDlq(
  opts: SourceOptions,
  fn: (q: OpenedDlq) => Promise<number | void>,
): Promise<void> {
  let q: OpenedDlq | undefined;
  const interrupted = () => {
    q?.interrupt();
    console.error("\nlitejoin: interrupted");
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupted);
  try {
    // Loaded here, not at the top: opening dlq.db loads the engine, which `litejoin tui` must not.
    const { openDlq } = await import("./_dlq_source.ts");
    q = await openDlq(opts);
    console.error(`litejoin: using ${q.where}`);
    const code = await fn(q);
    await q.close();
    Deno.exit(code ?? EXIT.ok);
  } catch (error) {
    await q?.close().catch(() => {});
    failDlq(error);
  }
}

function failDlq(error: unknown): never {
  const message = (error as Error)?.message;
  if (error instanceof NoEngineError) {
    console.error(`litejoin: ${message}`);
    Deno.exit(EXIT.noEngine);
  }
  if (error instanceof UsageError) {
    console.error(`litejoin: ${message}`);
    Deno.exit(EXIT.usage);
  }
  // The engine's DlqRequestError (dlq.db opened here) is known by name, as in exit.ts.
  if (error instanceof RemoteError || (error as Error)?.name === "DlqRequestError") {
    console.error(`litejoin: ${message}`);
    const code = (error as RemoteError).code;
    Deno.exit(code === "bad_request" ? EXIT.usage : EXIT.failure);
  }
  fail(error);
}

function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

function describe(s: { id?: number; sink?: string; status?: string; all?: boolean }): string {
  if (s.all) return "all";
  return [
    s.id !== undefined ? `id ${s.id}` : "",
    s.sink ? `sink ${s.sink}` : "",
    s.status ? `status ${s.status}` : "",
  ].filter(Boolean).join(", ");
}
