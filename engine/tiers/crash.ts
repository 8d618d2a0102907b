/**
 * A test hook for crash safety: with `LITEJOIN_CRASH_AT=<point>` in its environment the
 * process SIGKILLs itself when it reaches that point, as a power cut or the OOM killer
 * would stop it: no `finally`, no flush. Points are named where a crash matters:
 * `compact.journaled`, `compact.exported`, `compact.written`, `compact.evicting`,
 * `upload.part`, `upload.put`, `upload.cataloged`.
 */

let armed: string | undefined;
try {
  armed = Deno.env.get("LITEJOIN_CRASH_AT") || undefined;
} catch {
  armed = undefined; // no --allow-env: never armed
}

export function crashPoint(name: string): void {
  if (armed !== name) return;
  console.error(`LITEJOIN_CRASH_AT=${name}: killing this process`);
  Deno.kill(Deno.pid, "SIGKILL");
}
