/**
 * The console process loads no node:sqlite, DuckDB, AWS SDK or kafkajs module: measured
 * on real processes with the V8 inspector (`_loaded_modules.ts`), not read from the
 * import graph. `tools/check_layers.ts` keeps the same rule on the source; these tests
 * show that the rule describes what Deno really loads.
 */
import assert from "node:assert/strict";
import { CLI } from "./_helpers.ts";
import { loadedModules } from "./_loaded_modules.ts";

const ROOT = new URL("..", import.meta.url);
const HEAVY =
  /^node:sqlite$|\/(@duckdb|@aws-sdk|kafkajs)[@+/]|\/node_modules\/\.deno\/@(duckdb|aws-sdk)\+/;

function heavy(urls: string[]): string[] {
  return urls.filter((u) => HEAVY.test(u));
}

function own(urls: string[]): string[] {
  return urls.filter((u) => u.startsWith(ROOT.href) && !u.includes("/node_modules/"))
    .map((u) => u.slice(ROOT.href.length));
}

Deno.test("the detector sees the engine's modules when a command loads it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-modules-" });
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, "engine: { data_dir: ./data }\n");
  const { code, urls, stderr } = await loadedModules([
    CLI,
    "validate",
    "-c",
    `${dir}/litejoin.yaml`,
  ]);
  assert.equal(code, 0, stderr);
  assert.ok(urls.includes("node:sqlite"), "validate loads node:sqlite");
  assert.ok(own(urls).includes("engine/config/load.ts"));
});

Deno.test("litejoin status and tui load no storage or network library, from --socket or -c FILE", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-modules-" });
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    'engine: { data_dir: "${DATA:-./data}" }\nsources:\n  - { name: k, type: kafka, topic: t }\n',
  );
  for (const command of ["status", "tui"]) {
    for (const where of [["--socket", `${dir}/none.sock`], ["-c", `${dir}/litejoin.yaml`]]) {
      const { code, urls, stderr } = await loadedModules([CLI, command, ...where]);
      assert.equal(code, 4, `${command} ${where.join(" ")}: ${stderr}`);
      assert.match(stderr, /no engine is listening at /);
      assert.ok(own(urls).includes(`cli/${command}.ts`), `${command}: the command ran`);
      assert.deepEqual(heavy(urls), [], `${command} ${where.join(" ")}`);
      assert.ok(!own(urls).includes("engine/mod.ts"), `${command} loads engine/mod.ts`);
    }
  }
});

Deno.test("the whole console, as litejoin tui loads it, loads no storage or network library", async () => {
  // cli/main.ts, the tui command and the console's entry: every module `litejoin tui`
  // loads once it has a terminal (the console itself needs one to run).
  const dir = await Deno.makeTempDir({ prefix: "litejoin-modules-" });
  const entry = `${dir}/console_entry.ts`;
  await Deno.writeTextFile(
    entry,
    ["cli/main.ts", "cli/tui.ts", "tui/run.tsx"]
      .map((m) => `await import(${JSON.stringify(new URL(m, ROOT).href)});`).join("\n") + "\n",
  );
  const config = new URL("deno.json", ROOT).pathname;
  const { code, urls, stderr } = await loadedModules(["--config", config, entry], {
    cwd: ROOT.pathname,
  });
  assert.equal(code, 0, stderr);
  assert.ok(own(urls).includes("tui/console.tsx"), "the console's modules loaded");
  assert.ok(urls.some((u) => u.includes("/node_modules/.deno/ink@")), "ink loaded");
  assert.deepEqual(heavy(urls), []);
});
