import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { checkLayers, importsOf, importsWithKind } from "./check_layers.ts";

const repo = new URL("..", import.meta.url).pathname;

/** A tree of files under a temporary directory: path -> source. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "litejoin-layers-" });
  for (const [path, source] of Object.entries(files)) {
    await Deno.mkdir(join(root, dirname(path)), { recursive: true });
    await Deno.writeTextFile(join(root, path), source);
  }
  return root;
}

Deno.test("the repository keeps its layers", async () => {
  assert.deepEqual(await checkLayers(repo), []);
});

Deno.test("a planted violation of each rule is named, one line per import", async () => {
  const root = await tree({
    "engine/types.ts": "export type Clock = { now(): number };\n",
    "engine/timers.ts": 'import type { Clock } from "./types.ts";\nexport type T = Clock;\n',
    "engine/store/meta.ts": 'import { x } from "../control/server.ts";\nexport const m = x;\n',
    "engine/control/server.ts": "export const x = 1;\n",
    "engine/joins/joiner.ts": 'import { w } from "../windows/run.ts";\nexport const j = w;\n',
    "engine/windows/run.ts": 'import { T } from "../timers.ts";\nexport const w: T | 1 = 1;\n',
    "engine/windows/_heap.ts": "export const h = 1;\n",
    "engine/windows/plan.ts": 'import { h } from "./_heap.ts";\nexport const p = h;\n',
    "engine/windows/plan_test.ts": 'import { h } from "../sinks/_hub.ts";\nconsole.log(h);\n',
    "engine/sinks/_hub.ts": 'import { q } from "../../tests/_fixture.ts";\nexport const h = q;\n',
    "tests/_fixture.ts": "export const q = 2;\n",
    "engine/sinks/sse.ts": 'import { h } from "../windows/_heap.ts";\nexport const s = h;\n',
    "engine/dlq/gate.ts": 'import { s } from "../sinks/sse.ts";\nexport const g = s;\n',
    "engine/control/client.ts": "export class ControlClient {}\n",
    "engine/client.ts": 'export { ControlClient } from "./control/client.ts";\n',
    "engine/mod.ts":
      'import { DatabaseSync } from "node:sqlite";\nexport const db = DatabaseSync;\n' +
      'export { ControlClient } from "./client.ts";\n',
    "engine/stray.ts": "export const s = 1;\n",
    "cli/status.ts": 'import { p } from "../engine/windows/plan.ts";\n' +
      'import { f } from "../tui/format.ts";\n' +
      'import { ControlClient } from "../engine/client.ts";\nconsole.log(p, f, ControlClient);\n',
    "tui/format.ts": "export const f = 1;\n",
    "tui/link.ts":
      'import { ControlClient } from "../engine/mod.ts";\nexport const c = ControlClient;\n',
    "tui/lean.ts":
      'import { ControlClient } from "../engine/client.ts";\nexport const c = ControlClient;\n',
    "tests/any_test.ts": 'import { h } from "../engine/windows/_heap.ts";\nconsole.log(h);\n',
  });
  try {
    assert.deepEqual(await checkLayers(root), [
      "engine/joins/joiner.ts imports engine/windows/run.ts: a component may not import another component (joins -> windows)",
      "engine/sinks/_hub.ts imports tests/_fixture.ts: only tests may import tests, benchmarks and tools",
      "engine/sinks/sse.ts imports engine/windows/_heap.ts: a _ file is private to its folder (engine/windows/)",
      "engine/sinks/sse.ts imports engine/windows/_heap.ts: a component may not import another component (sinks -> windows)",
      "engine/store/meta.ts imports engine/control/server.ts: a lower layer may not import a higher one (store -> control)",
      "engine/stray.ts: not placed in any layer (add it to tools/layers.ts)",
      "cli/status.ts imports engine/windows/plan.ts: cli/ sees the engine only through engine/mod.ts or engine/client.ts",
      "cli/status.ts imports tui/format.ts: cli/ starts the console through tui/run.tsx and shares nothing else with tui/",
      "tui/link.ts imports engine/mod.ts: the console sees only the control client and protocol types (engine/client.ts)",
      "tui/link.ts imports engine/mod.ts: the console may not load node:sqlite (via engine/mod.ts -> node:sqlite)",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("imports are read from every form, and not from comments", () => {
  const source = `/** e.g. import { x } from "./commented.ts"; */
// import { y } from "./also_commented.ts";
import {
  a,
  type B,
} from "./multi.ts";
import type { C } from "../types.ts";
export { d } from "./re.ts";
export * from "./all.ts";
import "./side.ts";
const w = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
const { e } = await import("./lazy.ts");
import { parse } from "yaml";
`;
  assert.deepEqual(importsOf("engine/store/x.ts", source), [
    "engine/store/multi.ts",
    "engine/types.ts",
    "engine/store/re.ts",
    "engine/store/all.ts",
    "engine/store/side.ts",
    "engine/store/worker.ts",
    "engine/store/lazy.ts",
    "yaml",
  ]);
});

Deno.test("each import says how it loads: as the module starts, later, or never (types)", () => {
  const source = `import { a, type B } from "./value.ts";
import type { C } from "./types_only.ts";
export type { D } from "./types_too.ts";
export { e } from "./re.ts";
import "./side.ts";
const w = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
const { f } = await import("./lazy.ts");
`;
  assert.deepEqual(importsWithKind("cli/x.ts", source), [
    { target: "cli/value.ts", kind: "static" },
    { target: "cli/types_only.ts", kind: "type" },
    { target: "cli/types_too.ts", kind: "type" },
    { target: "cli/re.ts", kind: "static" },
    { target: "cli/side.ts", kind: "static" },
    { target: "cli/worker.ts", kind: "later" },
    { target: "cli/lazy.ts", kind: "later" },
  ]);
});

Deno.test("a console entry that loads a heavy module as it starts is named with its chain", async () => {
  const base = {
    "engine/store/db.ts":
      'import { DatabaseSync } from "node:sqlite";\nexport const d = DatabaseSync;\n',
    "engine/store/row.ts":
      'import type { SQLInputValue } from "node:sqlite";\nexport type R = SQLInputValue;\n',
    "engine/mod.ts":
      'export { d } from "./store/db.ts";\nexport type { R } from "./store/row.ts";\n',
    "engine/client.ts": 'export type { R } from "./store/row.ts";\nexport const c = 1;\n',
    "cli/run.ts": 'import { d } from "../engine/mod.ts";\nexport const run = () => d;\n',
    "cli/tui.ts": 'import { c } from "../engine/client.ts";\nexport const tui = () => c;\n',
    "cli/status.ts": 'import { c } from "../engine/client.ts";\nexport const status = () => c;\n',
  };
  const lazy = await tree({
    ...base,
    "cli/main.ts": 'import { tui } from "./tui.ts";\n' +
      'export const go = async () => (await import("./run.ts")).run() ?? tui();\n',
  });
  const eager = await tree({
    ...base,
    "cli/main.ts": 'import { tui } from "./tui.ts";\nimport { run } from "./run.ts";\n' +
      "export const go = () => run() ?? tui();\n",
  });
  try {
    assert.deepEqual(await checkLayers(lazy), []);
    assert.deepEqual(await checkLayers(eager), [
      "cli/main.ts loads node:sqlite as it starts (via cli/main.ts -> cli/run.ts -> engine/mod.ts -> " +
      "engine/store/db.ts -> node:sqlite): a command's console path must not; import the heavy module " +
      "with import() where it is used",
    ]);
  } finally {
    await Deno.remove(lazy, { recursive: true });
    await Deno.remove(eager, { recursive: true });
  }
});
