/** A progress bar on stderr for CLI commands, when stderr is a terminal; else nothing. */
import { renderBar } from "../engine/client.ts";

export interface Bar {
  /** Shows `done` of `total`, with an optional note (e.g. "3 failed"). */
  update(done: number, total: number, note?: string): void;
  /** Ends the bar's line. */
  end(): void;
}

export function progressBar(label: string, unit: string): Bar {
  if (!Deno.stderr.isTerminal()) return { update() {}, end() {} };
  const encoder = new TextEncoder();
  const started = performance.now();
  let shown = false;
  let drawn = 0;
  return {
    update(done, total, note) {
      const now = performance.now();
      if (now - drawn < 50 && done < total) return;
      drawn = now;
      shown = true;
      const columns = Deno.consoleSize().columns || 80; // 0: the terminal does not say
      const line = renderBar(label, done, total, unit, now - started, columns, note);
      Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line}`));
    },
    end() {
      if (shown) Deno.stderr.writeSync(encoder.encode("\n"));
    },
  };
}
