/**
 * Renders the console full screen until the user quits. Import this only after the
 * colour decision is made (see `cli/tui.ts`): Ink's colour library settles it when loaded.
 */
import { render, useWindowSize } from "ink";
import { Console } from "./console.tsx";
import { EngineLink, type Link } from "./link.ts";

function FullScreen({ link }: { link: Link }) {
  const { columns, rows } = useWindowSize();
  return <Console link={link} width={columns} height={rows} />;
}

export interface RunOptions {
  /** Draw on the terminal's alternate screen, restoring the shell's screen on exit. */
  alternateScreen: boolean;
}

/** Attaches to the engine at `socket` and runs the console; resolves with the exit code. */
export async function runConsole(socket: string, opts: RunOptions): Promise<number> {
  const link = new EngineLink(socket);
  const app = render(<FullScreen link={link} />, {
    alternateScreen: opts.alternateScreen,
    // Ink draws nothing until exit when a CI variable is set, even on a terminal.
    interactive: Deno.stdout.isTerminal(),
    exitOnCtrlC: false,
    patchConsole: true,
  });
  try {
    await app.waitUntilExit();
  } finally {
    await link.close();
  }
  return 0;
}
