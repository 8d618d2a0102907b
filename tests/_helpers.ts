/** Helpers for tests that cross modules or processes. */
import { DatabaseSync } from "node:sqlite";
import { Engine, type EngineOptions, parseConfig } from "../engine/mod.ts";
import { createLogger } from "../engine/log.ts";
import type { Result } from "../engine/types.ts";

export const CLI = new URL("../cli/main.ts", import.meta.url).pathname;

/** Logs only warnings and errors, so test output stays readable. */
export const quietLog = createLogger({ level: "warn" });

export interface TestEngine {
  engine: Engine;
  dir: string;
  url: string;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * Writes `yaml` to a temp dir (data in ./data, HTTP on a free port, plus `opts.http`
 * fields) and starts it in-process.
 */
export async function startEngine(
  yaml: string,
  opts: EngineOptions & { dir?: string; http?: string } = {},
): Promise<TestEngine> {
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "litejoin-test-" });
  const text = `http: { listen: "127.0.0.1:0"${opts.http ? `, ${opts.http}` : ""} }\n${yaml}`;
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, text);
  const config = parseConfig(text, `${dir}/litejoin.yaml`);
  const engine = await Engine.start(config, { log: quietLog, ...opts });
  const url = `http://127.0.0.1:${engine.address.port}`;
  return {
    engine,
    dir,
    url,
    post: (path, body, headers = {}) =>
      fetch(url + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      }),
    stop: () => engine.stop(),
  };
}

/**
 * Runs `fn` on an engine whose HTTP source `/in` feeds topic `events` and whose join
 * `copy` delivers `{id, n}` of every event to a webhook receiver (`hook`); `extra` adds
 * YAML (windows, say) that may send to `hook` too. Stops both afterwards.
 */
export async function withJoinToHook(
  fn: (t: TestEngine, receiver: Receiver) => Promise<void>,
  extra = "",
): Promise<void> {
  const receiver = await startReceiver();
  const t = await startEngine(`
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
joins:
  - { name: copy, key: id, sql: "SELECT key AS id, json_extract(payload, '$.n') AS n FROM events", sinks: [hook] }
sinks:
  - { name: hook, type: http, url: "${receiver.url}" }
${extra}`);
  try {
    await fn(t, receiver);
  } finally {
    await t.stop();
    await receiver.stop();
  }
}

/** A real webhook receiver on a free port that records every body it accepts. */
export interface Receiver {
  url: string;
  batches: Result[][];
  results(): Result[];
  /** Decides the status of each request (numbered from 0); 200 unless set. */
  respond: (request: number, body?: Result[]) => number;
  requests: number;
  stop(): Promise<void>;
}

/** `port` reuses a port, e.g. to bring a stopped receiver back at the same URL. */
export function startReceiver(opts: { port?: number } = {}): Promise<Receiver> {
  return new Promise((resolve) => {
    const receiver: Receiver = {
      url: "",
      batches: [],
      results: () => receiver.batches.flat(),
      respond: () => 200,
      requests: 0,
      stop: () => server.shutdown(),
    };
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: opts.port ?? 0,
      onListen: ({ port }) => {
        receiver.url = `http://127.0.0.1:${port}/hook`;
        resolve(receiver);
      },
    }, async (request) => {
      const body = await request.json();
      const status = receiver.respond(receiver.requests++, body);
      if (status < 300) receiver.batches.push(body);
      return new Response(status < 300 ? "ok" : "no", { status });
    });
  });
}

/** Polls `check` until it returns true, failing with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Rows of a SQLite file, read with a fresh connection. */
export function queryFile(path: string, sql: string, ...params: (string | number)[]) {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare(sql).all(...params);
  } finally {
    db.close();
  }
}

/** Every key stored in `topic` across the shards of a data directory. */
export function topicKeys(dataDir: string, topic: string, shardCount: number): Set<string> {
  const keys = new Set<string>();
  for (let i = 0; i < shardCount; i++) {
    for (const row of queryFile(`${dataDir}/shard_${i}.db`, `SELECT key FROM "${topic}"`)) {
      keys.add(String(row.key));
    }
  }
  return keys;
}

/** Runs `litejoin` with `args` and collects its output. */
export async function cli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: opts.cwd,
    env: opts.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}
