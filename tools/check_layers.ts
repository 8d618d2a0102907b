/**
 * The boundary check: reads every import of the `.ts`/`.tsx` files under the roots of
 * `tools/layers.ts` and prints one line per import that breaks a rule, e.g.
 * `engine/joins/joiner.ts imports engine/windows/timers.ts: a component may not import
 * another component (joins -> windows)`. Exits 1 if there is any. Part of `deno task check`.
 *
 *   deno run --allow-read tools/check_layers.ts [repository root]
 */
import { dirname, join, normalize, relative } from "node:path";
import { type Rules, rules as repoRules } from "./layers.ts";

/** Import and export-from statements, dynamic imports and worker URLs. */
const IMPORT =
  /(?:\b(?:import|export)\s[^;]*?\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\bnew URL\(\s*)["']([^"']+)["']/gs;

/**
 * How an import loads its module: `static` when the importing module loads, `later` when
 * code runs (`import()`, a worker's URL), `type` never (`import type`, `export type`).
 */
export type ImportKind = "static" | "later" | "type";

export interface Import {
  /** A repository path for a relative import, else the bare specifier as written. */
  target: string;
  kind: ImportKind;
}

/** The imports of one file, with how each loads. */
export function importsWithKind(file: string, source: string): Import[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...code.matchAll(IMPORT)].filter((m) => !/^(https?|data):/.test(m[1])).map((m) => {
    const target = m[1].startsWith(".") ? normalize(join(dirname(file), m[1])) : m[1];
    const kind: ImportKind = /^(import\s*\(|new URL)/.test(m[0])
      ? "later"
      : /^(import|export)\s+type\s/.test(m[0])
      ? "type"
      : "static";
    return { target, kind };
  });
}

/** The imports of one file: repository paths for relative ones, bare specifiers as written. */
export function importsOf(file: string, source: string): string[] {
  return importsWithKind(file, source).map((i) => i.target);
}

/** Every source file under the roots, with its imports. */
export async function importGraph(root: string, roots: string[]): Promise<Map<string, Import[]>> {
  const graph = new Map<string, Import[]>();
  async function walk(dir: string) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(join(root, dir))];
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (/\.tsx?$/.test(entry.name)) {
        graph.set(path, importsWithKind(path, await Deno.readTextFile(join(root, path))));
      }
    }
  }
  for (const dir of roots) await walk(dir.replace(/\/$/, ""));
  return graph;
}

const within = (file: string, path: string) =>
  path.endsWith("/") ? file.startsWith(path) : file === path;

/** One line per import that breaks `rules`, in file order. */
export function violations(kinds: Map<string, Import[]>, rules: Rules): string[] {
  const graph = new Map([...kinds].map(([file, imports]) => [file, imports.map((i) => i.target)]));
  const layerOf = (file: string) =>
    rules.layers.findIndex((layer) => layer.paths.some((path) => within(file, path)));
  const isTest = (file: string) =>
    rules.tests.some((path) => within(file, path)) ||
    rules.testSuffixes.some((suffix) => file.endsWith(suffix));
  const componentLayer = rules.layers.findIndex((l) => l.name === rules.components.layer);
  const folder = (file: string) => file.split("/")[1];
  const heavy = (spec: string) => rules.light.forbidden.find((f) => spec.startsWith(f));
  // What a module may load at some point (not type-only imports), and what it loads as it starts.
  const loads = (only: ImportKind[]) =>
    new Map(
      [...kinds].map((
        [file, imports],
      ) => [file, imports.filter((i) => only.includes(i.kind)).map((i) => i.target)]),
    );
  const chainTo = lightChains(loads(["static", "later"]), heavy);
  const atStart = lightChains(loads(["static"]), heavy);

  const out: string[] = [];
  for (const [file, imports] of graph) {
    const fileLayer = layerOf(file);
    if (!isTest(file) && fileLayer < 0) {
      out.push(`${file}: not placed in any layer (add it to tools/layers.ts)`);
    }
    for (const target of imports) {
      const line = (why: string) => out.push(`${file} imports ${target}: ${why}`);
      if (!graph.has(target)) {
        const chain = within(file, rules.light.from) && heavy(target);
        if (chain) line(`the console may not load ${chain}`);
        continue;
      }
      if (isTest(file)) continue;
      if (isTest(target)) {
        line("only tests may import tests, benchmarks and tools");
        continue;
      }
      const name = target.split("/").pop()!;
      if (name.startsWith(rules.privatePrefix) && dirname(target) !== dirname(file)) {
        line(`a ${rules.privatePrefix} file is private to its folder (${dirname(target)}/)`);
      }
      const targetLayer = layerOf(target);
      if (fileLayer >= 0 && targetLayer > fileLayer) {
        line(
          `a lower layer may not import a higher one (${rules.layers[fileLayer].name} -> ${
            rules.layers[targetLayer].name
          })`,
        );
      }
      if (
        fileLayer === componentLayer && targetLayer === componentLayer &&
        folder(file) !== folder(target) &&
        !rules.components.allowed.some((e) => e.from === folder(file) && e.to === folder(target))
      ) {
        line(
          `a component may not import another component (${folder(file)} -> ${folder(target)})`,
        );
      }
      for (const face of rules.faces) {
        if (within(file, face.from) && target.startsWith(face.scope) && !face.to.includes(target)) {
          line(face.why);
        }
      }
      if (within(file, rules.light.from) && !within(target, rules.light.from)) {
        const chain = chainTo(target);
        if (chain) line(`the console may not load ${chain.at(-1)} (via ${chain.join(" -> ")})`);
      }
    }
  }
  for (const entry of rules.light.entries) {
    const chain = graph.has(entry) ? atStart(entry) : undefined;
    if (chain) {
      out.push(
        `${entry} loads ${chain.at(-1)} as it starts (via ${chain.join(" -> ")}): ` +
          "a command's console path must not; import the heavy module with import() where it is used",
      );
    }
  }
  return [...new Set(out)];
}

/** For a file, the shortest import chain in `graph` from it to a module `heavy` names, if any. */
function lightChains(
  graph: Map<string, string[]>,
  heavy: (spec: string) => string | undefined,
): (file: string) => string[] | undefined {
  return (start) => {
    const from = new Map<string, string>([[start, ""]]);
    const queue = [start];
    while (queue.length) {
      const file = queue.shift()!;
      for (const target of graph.get(file) ?? []) {
        if (from.has(target)) continue;
        from.set(target, file);
        if (!graph.has(target) && heavy(target)) {
          const chain = [target];
          for (let at = file; at; at = from.get(at)!) chain.unshift(at);
          return chain;
        }
        if (graph.has(target)) queue.push(target);
      }
    }
    return undefined;
  };
}

export async function checkLayers(root: string, rules: Rules = repoRules): Promise<string[]> {
  return violations(await importGraph(root, rules.roots), rules);
}

if (import.meta.main) {
  const root = Deno.args[0] ??
    (relative(Deno.cwd(), new URL("..", import.meta.url).pathname) || ".");
  const lines = await checkLayers(root);
  for (const line of lines) console.error(line);
  if (lines.length) {
    console.error(`${lines.length} import(s) break the layers of DESIGN.md (tools/layers.ts)`);
    Deno.exit(1);
  }
}
