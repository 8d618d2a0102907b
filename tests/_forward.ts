/**
 * A launcher that forwards SIGINT and SIGTERM to the program it starts and exits with
 * its status, as npx, tini and dumb-init do:
 *
 *   deno run -A tests/_forward.ts deno task litejoin run -c litejoin.yaml
 *
 * In a terminal, Ctrl-C then reaches the program twice: from the terminal, which
 * signals the whole foreground process group, and from this launcher.
 */
const [command, ...args] = Deno.args;
const child = new Deno.Command(command, { args, stdin: "inherit" }).spawn();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    try {
      child.kill(signal);
    } catch { /* already ended */ }
  });
}
const status = await child.status;
Deno.exit(status.signal ? 128 + (status.signal === "SIGINT" ? 2 : 15) : status.code);
