/**
 * Full disk: the data directory is a 32 MiB tmpfs, mostly taken by a filler file.
 * Clients ingest until the disk is full. The engine must refuse with 503 "not stored"
 * (never a 202 for what it did not commit), keep running, and take messages again once
 * the filler is deleted; afterwards every acknowledged message is stored, the join has
 * delivered every one, the window emits again, and /healthz is ok. /readyz says "disk"
 * while full and ready again once the filler is gone, before any input arrives. Needs
 * root (to mount); skipped otherwise.
 */
import { startReceiver, topicKeys } from "../../tests/_helpers.ts";
import { spawnEngine } from "../../tests/_process.ts";
import {
  alive,
  check,
  type Drill,
  healthz,
  Load,
  logTail,
  type Outcome,
  sleep,
  stackTraces,
  stopEngine,
  until,
  writeConfig,
} from "./_drill.ts";

const FS_MIB = 32;
const FILLER_MIB = 22;

async function run(command: string, ...args: string[]) {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

export const diskDrill: Drill = {
  name: "full disk",
  async run(): Promise<Outcome> {
    if (Deno.uid() !== 0) {
      return { outcome: "skipped", details: "needs root to mount a small tmpfs; run as root" };
    }
    const dir = await Deno.makeTempDir({ prefix: "litejoin-drill-disk-" });
    const data = `${dir}/data`;
    await Deno.mkdir(data);
    try {
      await run("mount", "-t", "tmpfs", "-o", `size=${FS_MIB}m`, "tmpfs", data);
    } catch (error) {
      await Deno.remove(dir, { recursive: true });
      return { outcome: "skipped", details: `cannot mount a tmpfs: ${(error as Error).message}` };
    }
    const receiver = await startReceiver();
    let engine: Awaited<ReturnType<typeof spawnEngine>> | undefined;
    const loads: Load[] = [];
    try {
      await writeConfig(
        dir,
        `engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - name: copy
    key: id
    sql: "SELECT key AS id, length(json_extract(payload, '$.pad')) AS pad FROM events"
    sinks: [hook]
windows:
  - name: per_second
    type: tumbling
    size: 1s
    sql: "SELECT count(*) AS n FROM events WHERE timestamp >= :window_start AND timestamp < :window_end"
    sinks: [hook]
sinks:
  - { name: hook, type: http, url: "${receiver.url}" }
`,
      );
      const started = await spawnEngine(dir);
      engine = started;
      const filler = `${data}/filler`;
      await Deno.writeFile(filler, new Uint8Array(FILLER_MIB * 1024 * 1024));
      const pad = "x".repeat(1000);
      const payload = (id: string) => ({ id, pad });
      // Fill: four clients ingest until refusals come and nothing is acknowledged for 2 s.
      const fill = new Load("d", {
        url: () => started.url,
        path: "/in",
        clients: 4,
        batch: 20,
        payload,
      });
      loads.push(fill);
      let last = { acked: 0, refused: 0, at: performance.now() };
      const full = await until(async () => {
        if (!(await alive(started))) return true;
        if (fill.acked.size !== last.acked) {
          last = { acked: fill.acked.size, refused: fill.refused, at: performance.now() };
        }
        return fill.refused > last.refused && performance.now() - last.at > 2000;
      }, 120_000);
      check(full, `the disk did not fill: ${fill.acked.size} acked, ${fill.refused} refused`);
      check(
        await alive(started),
        `the engine died when the disk filled:\n${logTail(started.log())}`,
      );
      const whileFull = await healthz(started.url);
      await fill.stop();
      const readyWhileFull = await readyz(started.url);

      // Free the space; a trickle (too little to fill it again) must be taken again, and
      // the window must close windows again.
      const windowResults = () => receiver.results().filter((r) => r.name === "per_second").length;
      await Deno.remove(filler);
      const freed = performance.now();
      // No input yet: the shards' own probes must notice the room.
      let notReady = "";
      const readyAgain = await until(
        async () => (notReady = await readyz(started.url)).startsWith("200"),
        30_000,
      );
      const readyS = (performance.now() - freed) / 1000;
      const windowsWhenFreed = windowResults();
      const trickle = new Load("t", {
        url: () => started.url,
        path: "/in",
        clients: 1,
        batch: 5,
        pauseMs: 100,
        payload,
      });
      loads.push(trickle);
      const resumed = await until(() => trickle.acked.size > 0, 60_000);
      const resumeS = (performance.now() - freed) / 1000;
      check(resumed, `ingest did not resume after freeing space:\n${logTail(started.log())}`);
      await sleep(3000);
      await trickle.stop();

      const acked = [...fill.acked, ...trickle.acked];
      const delivered = await until(() => {
        const got = new Set(receiver.results().map((r) => r.key));
        return acked.every((id) => got.has(id));
      }, 60_000);
      const windowed = await until(() => windowResults() > windowsWhenFreed, 30_000);
      const health = await healthz(started.url);
      const got = new Set(receiver.results().map((r) => r.key));
      const undelivered = acked.filter((id) => !got.has(id)).length;
      const code = await stopEngine(started);
      const log = started.log();
      const stored = topicKeys(data, "events", 2);
      const lost = acked.filter((id) => !stored.has(id)).length;
      const traces = stackTraces(log);
      const statuses = new Set([...fill.statuses.keys(), ...trickle.statuses.keys()]);
      const wrong = [...statuses].filter((s) => s !== 202 && s !== 503);
      check(wrong.length === 0, `answers other than 202 and 503: ${wrong.join(", ")}`);
      const malformed = [...fill.malformed, ...trickle.malformed];
      check(malformed.length === 0, `not a JSON error: ${malformed[0]}`);
      const notStored = [...fill.errors.keys()].filter((e) => e.includes("not stored"));
      check(notStored.length > 0, `no "not stored" answer: ${[...fill.errors.keys()]}`);
      check(lost === 0, `${lost} acknowledged messages are not in the shards`);
      check(health.startsWith("200"), `/healthz after the drill: ${health}`);
      check(
        readyWhileFull.startsWith("503") && readyWhileFull.includes('"check":"disk"'),
        `/readyz while full: ${readyWhileFull}`,
      );
      check(readyAgain, `/readyz not ready 30 s after freeing space: ${notReady}`);
      check(delivered, `${undelivered} acknowledged messages never reached the join's webhook`);
      check(windowed, `the window emitted nothing after the space was freed:\n${logTail(log)}`);
      check(code === 0, `the engine exited with ${code} on SIGTERM:\n${logTail(log)}`);
      check(traces.length === 0, `stack trace in the log: ${traces[0]}`);
      const errorLines = log.split("\n").filter((l) => / error /.test(l)).length;
      return {
        outcome: "pass",
        details: `${FS_MIB} MiB tmpfs, ${FILLER_MIB} MiB filler: ${fill.acked.size} acked, then ` +
          `${fill.refused} POSTs refused (${first(notStored)}); /healthz while full: ` +
          `${whileFull}; /readyz while full: ${readyWhileFull.slice(0, 160)}; ready again ` +
          `${readyS.toFixed(1)} s after freeing, with no input; resumed ${
            resumeS.toFixed(1)
          } s after freeing; ${acked.length} acked in ` +
          `all, 0 lost, all delivered, the window emitting again; ${errorLines} error lines ` +
          `logged; /healthz ${health}`,
      };
    } finally {
      await Promise.all(loads.map((l) => l.stop()));
      if (engine && await alive(engine)) await stopEngine(engine);
      await receiver.stop();
      await run("umount", data).catch((e) => console.error(`umount ${data}: ${e.message}`));
      await Deno.remove(dir, { recursive: true });
    }
  },
};

async function readyz(url: string): Promise<string> {
  try {
    const response = await fetch(`${url}/readyz`);
    return `${response.status} ${(await response.text()).trim()}`;
  } catch (error) {
    return `unreachable: ${(error as Error).message}`;
  }
}

function first(errors: string[]): string {
  return errors[0]?.slice(0, 120) ?? "";
}
