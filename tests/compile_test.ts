/**
 * `deno compile` cannot run here (it downloads its runtime), so this proves from the
 * real module graph of `cli/main.ts` that nothing would break in a compiled binary:
 * every module is statically reachable, every worker is embedded with `--include`, no
 * import is computed at run time, and no source file is read from disk at run time.
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

interface Graph {
  modules: { specifier: string; kind?: string }[];
}

async function moduleGraph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as Graph;
  return graph.modules.map((m) => m.specifier).filter((s) => s.startsWith(root.href))
    .map((s) => s.slice(root.href.length));
}

function compileTask(): string {
  const json = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root)));
  return json.tasks.compile as string;
}

/**
 * Run-time uses of the module's own location that are fine in a compiled binary, and why.
 * A new use must be added here with its reason, or changed.
 */
const ALLOWED: Record<string, { pattern: RegExp; why: string }> = {
  "engine/replication/litestream.ts": {
    pattern: /createRequire\(import\.meta\.url\)/,
    why:
      "optional fallback to the npm-installed Litestream; a compiled binary finds it on PATH or via litestream_bin",
  },
  "engine/control/sql_runner.ts": {
    pattern:
      /fromFileUrl\(new URL\("(\.\.\/\.\.\/deno\.json|\.\/sql_runner_main\.ts)", import\.meta\.url\)\)/,
    why:
      "only when running from source (Deno.build.standalone false): console SQL starts `deno run engine/control/sql_runner_main.ts`; a compiled binary starts itself",
  },
  "engine/tiers/duck.ts": {
    pattern: /createRequire\(import\.meta\.url\)\.resolve\(/,
    why: "locates libduckdb.so inside the embedded npm package; LITEJOIN_LIBDUCKDB overrides",
  },
};

Deno.test("every module of the CLI is reachable statically, and workers are embedded by the compile task", async () => {
  const modules = await moduleGraph("cli/main.ts");
  assert.ok(modules.includes("engine/engine.ts"), "the graph reaches the engine");
  const task = compileTask();
  const workers = new Set<string>();
  for (const file of modules) {
    const source = Deno.readTextFileSync(new URL(file, root));
    for (
      const match of source.matchAll(
        /new Worker\(\s*new URL\(\s*"([^"]+)",\s*import\.meta\.url\s*\)/g,
      )
    ) {
      workers.add(new URL(match[1], new URL(file, root)).href.slice(root.href.length));
    }
    const dynamic = [...source.matchAll(/\bimport\(\s*([^)"'`\s][^)]*)\)/g)].map((m) => m[1]);
    assert.deepEqual(
      dynamic,
      [],
      `${file} imports a computed specifier, which deno compile cannot embed`,
    );
  }
  assert.ok(workers.size >= 2, `workers found: ${[...workers]}`);
  for (const worker of workers) {
    assert.ok(task.includes(`--include ${worker}`), `the compile task must --include ${worker}`);
    const graph = await moduleGraph(worker);
    assert.ok(graph.length > 0, `${worker} resolves`);
  }
});

Deno.test("no module of the CLI reads its own source tree at run time", async () => {
  const modules = new Set(await moduleGraph("cli/main.ts"));
  for (const worker of compileTask().matchAll(/--include (\S+)/g)) {
    for (const m of await moduleGraph(worker[1])) modules.add(m);
  }
  const found: string[] = [];
  for (const file of modules) {
    if (file.endsWith("_test.ts")) continue;
    const source = Deno.readTextFileSync(new URL(file, root));
    for (const line of source.split("\n")) {
      if (!/import\.meta\.(url|dirname|filename)/.test(line)) continue;
      if (/new Worker\(\s*new URL\(/.test(line)) continue;
      const allowed = ALLOWED[file];
      if (allowed?.pattern.test(line)) continue;
      found.push(`${file}: ${line.trim()}`);
    }
  }
  assert.deepEqual(
    found,
    [],
    "run-time reads relative to the source tree break in a compiled binary",
  );
});
