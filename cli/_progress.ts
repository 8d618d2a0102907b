/** A one-line progress bar on a terminal; nothing when output is not a terminal. */
export function progressBar(
  label: string,
): { update(done: number, total: number): void; end(): void } {
  if (!Deno.stderr.isTerminal()) return { update() {}, end() {} };
  const encoder = new TextEncoder();
  let last = -1;
  return {
    update(done, total) {
      const pct = total ? Math.floor((done / total) * 100) : 100;
      if (pct === last) return;
      last = pct;
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      Deno.stderr.writeSync(encoder.encode(`\r${label} ${bar} ${pct}% (${done}/${total})`));
    },
    end() {
      if (last >= 0) Deno.stderr.writeSync(encoder.encode("\n"));
    },
  };
}
