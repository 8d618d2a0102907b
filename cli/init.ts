/**
 * `litejoin init`: writes the starter config, the repository's own `litejoin.yaml`.
 * It is imported as text, so a compiled binary carries it and needs no checkout.
 */
import starter from "../litejoin.yaml" with { type: "text" };
import { EXIT } from "./exit.ts";

export async function init(opts: { config: string; force?: boolean }): Promise<void> {
  try {
    await Deno.writeTextFile(opts.config, starter, { createNew: !opts.force });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      console.error(`litejoin: ${opts.config} already exists; pass --force to overwrite it`);
      Deno.exit(EXIT.usage);
    }
    console.error(`litejoin: cannot write ${opts.config}: ${(error as Error).message}`);
    Deno.exit(EXIT.failure);
  }
  console.log(
    `wrote ${opts.config}: two generate sources and POST /ingest/orders, a join and a window ` +
      `to SQLite; start it with: litejoin run -c ${opts.config}`,
  );
}
