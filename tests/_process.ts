/** `litejoin run` as a child process, for shutdown and crash tests. */
import { CLI } from "./_helpers.ts";

export interface EngineProcess {
  child: Deno.ChildProcess;
  url: string;
  /** Everything the process has logged so far. */
  log(): string;
  /** Resolves with the exit status. */
  exited: Promise<Deno.CommandStatus>;
}

/**
 * Starts `litejoin run -c <dir>/litejoin.yaml`, with the V8 flags of `deno task run`,
 * and resolves once it listens.
 */
export async function spawnEngine(
  dir: string,
  env: Record<string, string> = {},
): Promise<EngineProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", CLI, "run", "-c", `${dir}/litejoin.yaml`],
    stdout: "null",
    stderr: "piped",
    env,
  }).spawn();
  let text = "";
  const listening = Promise.withResolvers<string>();
  const pump = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      text += decoder.decode(chunk, { stream: true });
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(text);
      if (match) listening.resolve(match[1]);
    }
  })();
  const exited = child.status.then(async (status) => {
    await pump;
    return status;
  });
  const url = await Promise.race([
    listening.promise,
    exited.then((s) => {
      throw new Error(`litejoin exited with ${s.code} before listening:\n${text}`);
    }),
  ]);
  return { child, url, log: () => text, exited };
}
