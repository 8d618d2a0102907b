/**
 * Named points where crash tests kill the process for real: when the environment
 * variable LITEJOIN_CRASH_AT equals `name`, the process SIGKILLs itself there, as a
 * power cut would. Costs one environment lookup; does nothing otherwise.
 */
export function crashPoint(name: string): void {
  if (Deno.env.get("LITEJOIN_CRASH_AT") === name) Deno.kill(Deno.pid, "SIGKILL");
}
