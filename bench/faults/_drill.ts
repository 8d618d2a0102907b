/** What every fault drill shares: its outcome, a client load that records what was acknowledged. */
import type { EngineProcess } from "../../tests/_process.ts";

export interface Outcome {
  outcome: "pass" | "fail" | "skipped";
  details: string;
}

/** One drill: sets up its own engine in its own directory, and cleans up after itself. */
export interface Drill {
  name: string;
  run(): Promise<Outcome>;
}

/** A failed check inside a drill; its message becomes the drill's details. */
export class DrillFailure extends Error {}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new DrillFailure(message);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `test` every 50 ms; false once `timeoutMs` has passed. */
export async function until(test: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Lines of an engine log that look like a stack trace or an uncaught error. */
export function stackTraces(log: string): string[] {
  return log.split("\n").filter((l) => /^\s+at .+[:(]/.test(l) || /Uncaught|panicked/.test(l));
}

export interface LoadOptions {
  /** The engine's base URL now (it changes across a restart). */
  url: () => string;
  path: string;
  clients: number;
  /** Messages per POST; 1 posts single objects. */
  batch: number;
  /** Pause between one client's POSTs. */
  pauseMs?: number;
  /** The payload of message `id`; `{id}` unless given. */
  payload?: (id: string) => Record<string, unknown>;
}

/**
 * Clients that POST batches of unique ids until stopped, and remember which ids were
 * acknowledged (202) and how every other answer read. A client that cannot connect
 * (the engine is down) tries again shortly, so the load carries on across a restart.
 */
export class Load {
  readonly acked = new Set<string>();
  readonly statuses = new Map<number, number>();
  /** Distinct error bodies of non-202 answers, with how often each came. */
  readonly errors = new Map<string, number>();
  sent = 0;
  unreachable = 0;
  /** Answers that were not 202 and not a JSON error. */
  readonly malformed: string[] = [];
  #running = true;
  readonly #clients: Promise<void>[];
  #next = 0;

  constructor(readonly prefix: string, readonly options: LoadOptions) {
    this.#clients = Array.from({ length: options.clients }, () => this.#client());
  }

  get refused(): number {
    let n = 0;
    for (const [status, count] of this.statuses) if (status !== 202) n += count;
    return n;
  }

  async #client(): Promise<void> {
    const o = this.options;
    while (this.#running) {
      const ids = Array.from({ length: o.batch }, () => `${this.prefix}${this.#next++}`);
      const items = ids.map((id) => o.payload?.(id) ?? { id });
      this.sent += ids.length;
      let response: Response;
      try {
        response = await fetch(`${o.url()}${o.path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(o.batch === 1 ? items[0] : items),
        });
      } catch {
        this.unreachable++;
        await sleep(20);
        continue;
      }
      const text = await response.text().catch(() => "");
      this.statuses.set(response.status, (this.statuses.get(response.status) ?? 0) + 1);
      if (response.status === 202) { for (const id of ids) this.acked.add(id); }
      else {
        let error: unknown;
        try {
          error = JSON.parse(text).error;
        } catch { /* not JSON */ }
        if (typeof error !== "string") this.malformed.push(`${response.status} ${text}`);
        const key = `${response.status} ${error ?? text}`.replace(/\d+ messages/, "N messages");
        this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
      }
      if (o.pauseMs) await sleep(o.pauseMs);
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#clients);
  }
}

/** Writes `yaml` (with an HTTP listener on a free port) to `<dir>/litejoin.yaml`. */
export async function writeConfig(dir: string, yaml: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, `http: { listen: "127.0.0.1:0" }\n${yaml}`);
}

/** Stops the engine with SIGTERM (SIGKILL after 20 s); resolves with its exit code. */
export async function stopEngine(engine: EngineProcess): Promise<number> {
  try {
    engine.child.kill("SIGTERM");
  } catch {
    // already gone
  }
  const timer = setTimeout(() => {
    try {
      engine.child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 20_000);
  const status = await engine.exited;
  clearTimeout(timer);
  return status.code;
}

/** True while the process has not exited. */
export function alive(engine: EngineProcess): Promise<boolean> {
  return Promise.race([engine.exited.then(() => false), sleep(0).then(() => true)]);
}

export async function healthz(url: string): Promise<string> {
  try {
    const response = await fetch(`${url}/healthz`);
    return `${response.status} ${(await response.text()).trim()}`;
  } catch (error) {
    return `unreachable: ${(error as Error).message}`;
  }
}

/** The last lines of an engine log, for a failure's details. */
export function logTail(log: string, lines = 10): string {
  return log.trim().split("\n").slice(-lines).join("\n");
}
