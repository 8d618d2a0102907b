/// <reference lib="deno.worker" />
/**
 * For thread_gc_test.ts, run as a worker of a process started with `--expose-gc`:
 * makes garbage that outlives scavenges, drops it, and lets a Collector free it.
 */
import { Collector, exposedGc } from "./thread_gc.ts";

const gc = exposedGc();
if (!gc) {
  self.postMessage({ exposed: false });
} else {
  const heapUsed = () => Deno.memoryUsage().heapUsed;
  const collector = new Collector(gc, heapUsed);
  const idle = collector.tick();
  let rows: { i: number; s: string }[] | undefined = [];
  for (let i = 0; i < 200_000; i++) rows.push({ i, s: `row ${i}` });
  rows = undefined;
  const before = heapUsed();
  const collected = collector.tick();
  self.postMessage({ exposed: true, idle, collected, freed: before - heapUsed() });
}
