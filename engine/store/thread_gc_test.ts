import assert from "node:assert/strict";
import { Collector, IDLE_BYTES } from "./thread_gc.ts";

Deno.test("collector collects once the heap has grown, and not while the thread is idle", () => {
  let heap = 4_000_000;
  let collections = 0;
  const collector = new Collector(() => {
    collections++;
    heap = 4_100_000;
  }, () => heap);
  assert.equal(collector.tick(), false);
  heap += IDLE_BYTES - 1;
  assert.equal(collector.tick(), false);
  heap += 1;
  assert.equal(collector.tick(), true);
  assert.equal(collections, 1);
  // Measured from what the collection left, not from where it started.
  heap = 4_100_000 + IDLE_BYTES - 1;
  assert.equal(collector.tick(), false);
  heap += 1;
  assert.equal(collector.tick(), true);
  assert.equal(collections, 2);
});

Deno.test("a worker of a process run with --expose-gc frees its garbage at a tick", async () => {
  // The test process itself runs without the flag; the engine's tasks run with it.
  const probe = import.meta.resolve("./_thread_gc_probe.ts");
  const code = `const worker = new Worker(${JSON.stringify(probe)}, { type: "module" });
    worker.onmessage = (event) => { console.log(JSON.stringify(event.data)); worker.terminate(); };`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--expose-gc", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const seen = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(seen.exposed, true);
  assert.equal(seen.idle, false);
  assert.equal(seen.collected, true);
  assert.ok(seen.freed > 4 * IDLE_BYTES, `freed only ${seen.freed} bytes`);
});

Deno.test("every task that runs the engine, and the compiled binary, pass --expose-gc", () => {
  const { tasks } = JSON.parse(
    Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  for (const name of ["run", "litejoin", "compile"]) {
    assert.match(tasks[name], /^deno (run|compile) -A --v8-flags=--expose-gc /, `task ${name}`);
  }
});
