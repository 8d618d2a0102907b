/**
 * A real Kafka-protocol broker for tests: librdkafka's mock cluster (`mock_broker.c`)
 * as a child process on loopback ports.
 *
 *   await using broker = await startMockBroker({ topics: { orders: 4 } });
 *   new Kafka({ brokers: broker.bootstrap });
 *
 * The binary is compiled on first use into `tests/kafka/.cache/` (named after a hash
 * of the source, so an edit rebuilds it); that needs a C compiler, pkg-config and
 * librdkafka-dev (`tests/setup.ts` installs them). The broker exits when its stdin
 * closes, so a test process that dies never leaves one behind.
 */
import { fileURLToPath } from "node:url";

export interface MockBroker extends AsyncDisposable {
  /** `host:port` of every broker, for `brokers:` in configs and clients. */
  bootstrap: string[];
  /** Creates a topic while the broker runs. */
  createTopic(name: string, partitions: number): Promise<void>;
  /** Disconnects broker `id` (1..N; -1 for all) and refuses connections until `up`. */
  down(id?: number): Promise<void>;
  up(id?: number): Promise<void>;
  /** Closes stdin (a clean shutdown) and waits for the process to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface MockBrokerOptions {
  /** Topic name → partition count, created before the broker is reported ready. */
  topics: Record<string, number>;
  /** Brokers in the cluster (default 1). */
  brokers?: number;
}

const HERE = fileURLToPath(new URL(".", import.meta.url));
const SOURCE = `${HERE}mock_broker.c`;
const CACHE = Deno.env.get("LITEJOIN_MOCK_BROKER_CACHE") ?? `${HERE}.cache`;
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const DECODER = new TextDecoder();

let building: Promise<string> | undefined;

/** The compiled broker, built on first use. Concurrent builders are safe (atomic rename). */
export function mockBrokerBinary(): Promise<string> {
  building ??= build().catch((error) => {
    building = undefined;
    throw error;
  });
  return building;
}

async function build(): Promise<string> {
  const source = await Deno.readFile(SOURCE);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", source));
  const tag = Array.from(hash.slice(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  const binary = `${CACHE}/mock_broker-${tag}`;
  try {
    await Deno.stat(binary);
    return binary;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const hint = "run `deno run -A tests/setup.ts` (needs cc, pkg-config, librdkafka-dev)";
  const flags = await run("pkg-config", ["--cflags", "--libs", "rdkafka"], hint);
  await Deno.mkdir(CACHE, { recursive: true });
  const partial = `${binary}.${Deno.pid}.tmp`;
  await run("cc", [
    "-O2",
    "-Wall",
    "-std=c11",
    "-o",
    partial,
    SOURCE,
    ...flags.trim().split(/\s+/),
  ], hint);
  await Deno.rename(partial, binary);
  return binary;
}

async function run(command: string, args: string[], hint: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (error) {
    throw new Error(`cannot build the mock Kafka broker: ${command}: ${error}; ${hint}`);
  }
  if (!out.success) {
    throw new Error(
      `cannot build the mock Kafka broker: ${command} failed: ` +
        `${DECODER.decode(out.stderr).trim()}; ${hint}`,
    );
  }
  return DECODER.decode(out.stdout);
}

export async function startMockBroker(opts: MockBrokerOptions): Promise<MockBroker> {
  const args = ["--brokers", String(opts.brokers ?? 1)];
  for (const [name, partitions] of Object.entries(opts.topics)) {
    args.push("--topic", `${name}:${partitions}`);
  }
  const child = new Deno.Command(await mockBrokerBinary(), {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  // Both pipes are drained for the whole life of the process: the child never blocks
  // on a full pipe, and the test sanitizers see them closed.
  let stderr = "";
  const stderrDone = lines(child.stderr, (line) => stderr = (stderr + line + "\n").slice(-4096));
  const replies: string[] = [];
  let waiting: ((line: string | undefined) => void) | undefined;
  const stdoutDone = lines(child.stdout, (line) => {
    if (waiting) {
      const deliver = waiting;
      waiting = undefined;
      deliver(line);
    } else replies.push(line);
  }).finally(() => waiting?.(undefined));
  const nextLine = (timeoutMs: number) =>
    new Promise<string | undefined>((resolve) => {
      if (replies.length) return resolve(replies.shift());
      const timer = setTimeout(() => {
        waiting = undefined;
        resolve(undefined);
      }, timeoutMs);
      waiting = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });

  const stdin = child.stdin.getWriter();
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      await stdin.close().catch(() => {});
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, STOP_GRACE_MS);
      try {
        await child.status;
      } finally {
        clearTimeout(timer);
      }
      await Promise.all([stdoutDone, stderrDone]);
    })();

  let queue = Promise.resolve();
  const command = (line: string): Promise<void> => {
    const done = queue.then(async () => {
      await stdin.write(new TextEncoder().encode(line + "\n"));
      const reply = await nextLine(START_TIMEOUT_MS);
      if (reply !== "OK") {
        throw new Error(`mock broker: ${line}: ${reply ?? `no answer; stderr: ${stderr}`}`);
      }
    });
    queue = done.catch(() => {});
    return done;
  };

  const first = await nextLine(START_TIMEOUT_MS);
  const match = /^BOOTSTRAP (\S+)$/.exec(first ?? "");
  if (!match) {
    await stop();
    throw new Error(
      `mock broker did not start (${first === undefined ? "no BOOTSTRAP line" : first}): ${stderr}`,
    );
  }
  return {
    bootstrap: match[1].split(","),
    createTopic: (name, partitions) => command(`topic ${name}:${partitions}`),
    down: (id = -1) => command(`down ${id}`),
    up: (id = -1) => command(`up ${id}`),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Calls `onLine` for every line of `stream` until it ends. */
async function lines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = rest.indexOf("\n")) >= 0) {
      onLine(rest.slice(0, newline));
      rest = rest.slice(newline + 1);
    }
  }
  if (rest) onLine(rest);
}
