/**
 * Litestream as the engine's child (embedded mode): find the binary, restore missing
 * databases before they are opened, run `litestream replicate`, watch it, and restart
 * it with backoff when it dies.
 */
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { backoffDelay, sleep } from "../backoff.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Clock } from "../types.ts";
import type { EngineConfig } from "../store/spec.ts";
import {
  litestreamYaml,
  replicatedDatabases,
  type ReplicationConfig,
} from "./litestream_config.ts";

/** Litestream cannot be found or is not the version this build speaks to. */
export class LitestreamMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LitestreamMissingError";
  }
}

/**
 * The Litestream binary: `litestream_bin`, else `litestream` on PATH, else the binary
 * that `deno install` put in node_modules from `@flydotio/litestream-linux-x64`. (The
 * package's own `litestream` command is a Node wrapper that swallows signals and exit
 * codes, so it is never used.)
 */
export async function findLitestream(configured?: string): Promise<string> {
  const candidates: string[] = [];
  if (configured) candidates.push(configured);
  else {
    for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
      if (dir) candidates.push(join(dir, "litestream"));
    }
    try {
      const require = createRequire(import.meta.url);
      candidates.push(
        join(dirname(require.resolve("@flydotio/litestream-linux-x64/package.json")), "litestream"),
      );
    } catch {
      // not installed from npm (e.g. in a compiled binary): PATH or litestream_bin must provide it
    }
  }
  for (const path of candidates) {
    try {
      const out = await new Deno.Command(path, {
        args: ["version"],
        stdout: "piped",
        stderr: "null",
      }).output();
      const version = new TextDecoder().decode(out.stdout).trim();
      if (!out.success) continue;
      if (!/^v0\.3\./.test(version)) {
        throw new LitestreamMissingError(
          `${path} is Litestream ${version}; LiteJoin speaks to 0.3.x (0.3.13): install that, or set replication.litestream_bin`,
        );
      }
      return path;
    } catch (error) {
      if (error instanceof LitestreamMissingError) throw error;
    }
  }
  throw new LitestreamMissingError(
    configured
      ? `replication.litestream_bin ${configured} cannot be run`
      : "litestream 0.3.13 is not on PATH and not installed from npm: run `deno install`, " +
        "put litestream on PATH, or set replication.litestream_bin",
  );
}

/** Writes the generated `litestream.yml` beside the data and returns its path. */
export async function writeLitestreamConfig(
  r: ReplicationConfig,
  dataDir: string,
  shardCount: number,
): Promise<string> {
  const path = `${dataDir}/litestream.yml`;
  await Deno.writeTextFile(path, litestreamYaml(r, dataDir, shardCount));
  return path;
}

/**
 * Restores each database of the data directory that does not exist locally, from the
 * latest snapshot and WAL in its replica. A database with no replica yet (a first
 * start) is left to be created. Returns the names restored.
 */
export async function restoreMissing(
  bin: string,
  configPath: string,
  dataDir: string,
  shardCount: number,
  log: Logger,
): Promise<string[]> {
  const restored: string[] = [];
  for (const db of replicatedDatabases(dataDir, shardCount)) {
    if (await exists(db.path)) continue;
    // Litestream's shadow state for a database that is gone would make it resume a
    // generation that no longer matches the file.
    await Deno.remove(join(dirname(db.path), `.${basename(db.path)}-litestream`), {
      recursive: true,
    })
      .catch(() => {});
    const out = await new Deno.Command(bin, {
      args: [
        "restore",
        "-config",
        configPath,
        "-if-db-not-exists",
        "-if-replica-exists",
        "-o",
        db.path,
        db.path,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (!out.success) {
      throw new Error(`restoring ${db.path} from its replica failed: ${lastLine(text)}`);
    }
    if (await exists(db.path)) {
      restored.push(db.name);
      log.info(`restored ${db.path} from its replica`);
    }
  }
  return restored;
}

export interface LitestreamHealth {
  state: "starting" | "replicating" | "restarting" | "stopped";
  pid: number | null;
  restarts: number;
  /** Epoch ms of the last WAL segment or snapshot Litestream reported written, for any database. */
  last_sync_at: number | null;
  /** The same per database path: what was committed in it before then is in the replica. */
  synced: Record<string, number>;
  last_error: string;
}

/**
 * A watchdog around the child: when the engine dies, even by SIGKILL, the pipe on the
 * wrapper's stdin closes and the wrapper stops Litestream (which syncs once more), so
 * Litestream never outlives the engine.
 */
const WATCHDOG = `
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
exec 3<&0
( while read -r _ <&3; do :; done; kill -TERM "$child" 2>/dev/null ) >/dev/null 2>&1 &
guard=$!
wait "$child"; code=$?
while kill -0 "$child" 2>/dev/null; do wait "$child"; code=$?; done
kill "$guard" 2>/dev/null
exit "$code"`;

export class LitestreamProcess {
  #child: Deno.ChildProcess | undefined;
  #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #stopping = false;
  #running: Promise<void> | undefined;
  readonly #health: LitestreamHealth = {
    state: "starting",
    pid: null,
    restarts: 0,
    last_sync_at: null,
    synced: {},
    last_error: "",
  };
  readonly #up;
  readonly #restarts;
  readonly #lastSync;

  constructor(
    readonly bin: string,
    readonly configPath: string,
    readonly log: Logger,
    readonly clock: Clock,
    metrics: Metrics,
  ) {
    this.#up = metrics.gauge(
      "litejoin_replication_up",
      "1 while the Litestream child runs, else 0.",
    );
    this.#restarts = metrics.counter(
      "litejoin_replication_restarts_total",
      "Times the Litestream child was restarted.",
    );
    this.#lastSync = metrics.gauge(
      "litejoin_replication_last_sync_timestamp_seconds",
      "When Litestream last reported a WAL segment or snapshot written.",
    );
    this.#up.set({}, 0);
  }

  health(): LitestreamHealth {
    return { ...this.#health, synced: { ...this.#health.synced } };
  }

  /** Starts Litestream and keeps it running (restarting with backoff) until `stop`. */
  start(): void {
    this.#running = this.#supervise();
  }

  async #supervise(): Promise<void> {
    let failures = 0;
    while (!this.#stopping) {
      const started = this.clock.now();
      const code = await this.#runOnce();
      this.#up.set({}, 0);
      this.#health.pid = null;
      if (this.#stopping) break;
      if (this.clock.now() - started > 60_000) failures = 0;
      failures++;
      const wait = backoffDelay(
        { initial: 1000, max: 60_000, multiplier: 2, jitter: 0.2 },
        failures,
      );
      this.#health.state = "restarting";
      this.#health.last_error = `exited with code ${code}${
        this.#health.last_error ? `: ${this.#health.last_error}` : ""
      }`;
      this.log.error(
        `litestream ${this.#health.last_error}; replication is paused, restarting in ${
          Math.round(wait / 1000)
        } s`,
      );
      await sleep(wait, this.#abort.signal);
      if (this.#stopping) break;
      this.#health.restarts++;
      this.#restarts.inc();
    }
    this.#health.state = "stopped";
  }

  readonly #abort = new AbortController();

  async #runOnce(): Promise<number> {
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        WATCHDOG,
        "litestream-watchdog",
        this.bin,
        "replicate",
        "-config",
        this.configPath,
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#health.pid = child.pid;
    this.#health.state = "starting";
    this.#up.set({}, 1);
    const lines = Promise.all([this.#follow(child.stdout), this.#follow(child.stderr)]);
    const status = await child.status;
    await lines;
    return status.code;
  }

  async #follow(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      let newline;
      while ((newline = rest.indexOf("\n")) >= 0) {
        this.#line(rest.slice(0, newline));
        rest = rest.slice(newline + 1);
      }
    }
    if (rest) this.#line(rest);
  }

  /** Litestream logs `time=… level=… msg=…` lines; track syncs, pass on problems. */
  #line(line: string): void {
    const level = /level=(\w+)/.exec(line)?.[1] ?? "";
    const msg = /msg=("(?:[^"\\]|\\.)*"|\S+)/.exec(line)?.[1]?.replace(/^"|"$/g, "") ?? line;
    if (msg === "replicating to") {
      // Litestream monitors the database and will ship each change.
      this.#health.state = "replicating";
    } else if (msg === "wal segment written" || msg === "snapshot written") {
      const now = this.clock.now();
      this.#health.last_sync_at = now;
      const db = /\bdb=(\S+)/.exec(line)?.[1];
      if (db) this.#health.synced[db] = now;
      this.#lastSync.set({}, now / 1000);
    } else if (level === "ERROR" || level === "WARN") {
      this.#health.last_error = line.replace(/^time=\S+ /, "");
      this.log.warn(`litestream: ${this.#health.last_error}`);
    }
  }

  /**
   * Stops Litestream after it has synced what is committed (call after the databases
   * are closed). Litestream 0.3.13 may exit 1 after a complete final sync
   * ("context canceled"), which is not a failure.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    const child = this.#child;
    if (child) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 15_000);
      await child.status;
      clearTimeout(timer);
      await this.#stdin?.close().catch(() => {});
    }
    await this.#running;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).at(-1) ?? "no output";
}

/**
 * Embedded replication: finds Litestream, restores missing databases before anything
 * opens them, and returns the child to start once the engine serves.
 */
export async function prepareEmbedded(
  config: {
    replication: ReplicationConfig;
    engine: Pick<EngineConfig, "data_dir" | "shard_count">;
  },
  clock: Clock,
  log: Logger,
  metrics: Metrics,
): Promise<LitestreamProcess | undefined> {
  const r = config.replication;
  if (!r.enabled || r.mode !== "embedded") return undefined;
  const { data_dir: dataDir, shard_count: shardCount } = config.engine;
  const bin = await findLitestream(r.litestream_bin);
  const configPath = await writeLitestreamConfig(r, dataDir, shardCount);
  if (r.restore_on_boot) await restoreMissing(bin, configPath, dataDir, shardCount, log);
  return new LitestreamProcess(bin, configPath, log, clock, metrics);
}
