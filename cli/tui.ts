/** `litejoin tui`: the operations console, attached to a running engine. */
import { EXIT, fail } from "./exit.ts";
import { connect, type SocketOptions, socketPath } from "./socket.ts";

export interface TuiOptions extends SocketOptions {
  altScreen: boolean;
  color: boolean;
}

export async function tui(opts: TuiOptions): Promise<void> {
  let path: string;
  try {
    path = await socketPath(opts);
    (await connect(path)).close();
  } catch (error) {
    fail(error);
  }
  if (!Deno.stdin.isTerminal() || !Deno.stdout.isTerminal()) {
    console.error(
      "litejoin: tui needs a terminal on stdin and stdout; for scripts use litejoin status [--json]",
    );
    Deno.exit(EXIT.usage);
  }
  // React's development build costs the console half again as much CPU per frame.
  if (Deno.env.get("NODE_ENV") === undefined) Deno.env.set("NODE_ENV", "production");
  // Ink's colour library reads FORCE_COLOR once, when it loads, and ignores NO_COLOR.
  const noColor = Deno.env.get("NO_COLOR");
  if (!opts.color || (noColor !== undefined && noColor !== "")) Deno.env.set("FORCE_COLOR", "0");
  const { runConsole } = await import("../tui/run.tsx");
  Deno.exit(await runConsole(path, { alternateScreen: opts.altScreen }));
}
