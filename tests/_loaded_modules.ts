/**
 * Which modules a Deno process really loads: runs `deno run --inspect-wait` and collects
 * the URL of every script V8 compiles (`Debugger.scriptParsed`), npm, `node:` and `ext:`
 * modules included. A module that is only named by an `import()` that never runs is not
 * compiled, so it is not listed: this is what the process loaded, not its module graph.
 */

export interface LoadedModules {
  code: number;
  /** Every compiled script's URL, in load order. */
  urls: string[];
  stderr: string;
}

/** Runs `deno run -A --inspect-wait <args>` in `cwd` and lists the modules it loads. */
export async function loadedModules(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<LoadedModules> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--inspect-wait=127.0.0.1:0", ...args],
    cwd: opts.cwd,
    env: opts.env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let stderr = "";
  let address: string | undefined;
  while (!address) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`the inspector did not start: ${stderr}`);
    stderr += value;
    address = stderr.match(/ws:\/\/\S+/)?.[0];
  }
  const inspector = new WebSocket(address);
  const urls: string[] = [];
  const closed = new Promise<void>((resolve) => inspector.onclose = () => resolve());
  // A program that ends by itself waits for the debugger to leave before the process exits.
  const rest = (async () => {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) return;
      stderr += value;
      if (/Program finished/.test(value)) inspector.close();
    }
  })();
  inspector.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.method === "Debugger.scriptParsed") urls.push(message.params.url);
    if (message.method === "Runtime.executionContextDestroyed") inspector.close();
  };
  await new Promise((resolve) => inspector.onopen = resolve);
  let id = 0;
  for (const method of ["Runtime.enable", "Debugger.enable", "Runtime.runIfWaitingForDebugger"]) {
    inspector.send(JSON.stringify({ id: ++id, method }));
  }
  const { code } = await child.status;
  if (inspector.readyState !== WebSocket.CLOSED) inspector.close();
  await closed;
  await rest;
  const own = stderr.split("\n").filter((l) =>
    !/^(Debugger listening|Visit chrome|Debugger session|Deno is waiting|Program finished|Waiting for)/
      .test(l)
  );
  return { code, urls, stderr: own.join("\n") };
}
