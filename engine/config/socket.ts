/**
 * The control socket a config file names, read without loading the engine: `litejoin
 * tui` and `status` only talk to the socket, and the full loader (`load.ts`) imports
 * every component, with node:sqlite, DuckDB, the AWS SDK and kafkajs behind them.
 *
 * Contract: the same path the full loader puts in `config.engine.socket`, and the same
 * one-line errors for a file that cannot be read, a YAML syntax error and a bad
 * `engine.data_dir` or `engine.socket` (the same field schemas, `${VAR}` interpolation
 * and relative-path rule, `schema/engine_files.ts`). Other sections are not read, so a
 * mistake elsewhere in the file does not keep the console from attaching. A file whose
 * top or `engine` is not a mapping is refused in one line that points to `litejoin
 * validate` (the full loader's message lists every field, which needs every component).
 */
import { isMap, isScalar, type Node } from "yaml";
import { type At, child, Context, invalid } from "../schema/schema.ts";
import { ConfigError } from "../schema/config_error.ts";
import { dataDirField, engineFiles, socketField } from "../schema/engine_files.ts";
import { parseConfigYaml, readConfigText } from "./read.ts";

export async function socketOfConfig(
  file: string,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Promise<string> {
  const text = await readConfigText(file);
  const { doc, at } = parseConfigYaml(text, file);
  const ctx = new Context(env);
  const top = doc.contents as Node | null;
  const engine = value(top, "engine", { ctx, path: "", offset: 0 });
  for (const [node, path] of [[top, ""], [engine, "engine: "]] as const) {
    // An empty `engine:` is no engine section, as for the full loader.
    if (node != null && !isMap(node) && !(isScalar(node) && node.value === null)) {
      throw new ConfigError([
        `${at(node.range?.[0] ?? 0)}: ${path}expected a mapping (litejoin validate -c ${file} ` +
        "says what the config should look like)",
      ]);
    }
  }
  const section = child({ ctx, path: "", offset: 0 }, "engine", engine);
  const field = (name: string) => value(engine, name, section);
  const dataDirNode = field("data_dir");
  const socketNode = field("socket");
  const dataDir = dataDirField().parse(dataDirNode, child(section, "data_dir", dataDirNode));
  const socket = socketField().parse(socketNode, child(section, "socket", socketNode));
  if (dataDir === invalid || socket === invalid || ctx.problems.length) {
    throw new ConfigError(
      ctx.problems.sort((a, b) => a.offset - b.offset)
        .map((p) => `${at(p.offset)}: ${p.path}: ${p.message}`),
    );
  }
  return engineFiles(file, { data_dir: dataDir, socket }).socket;
}

/**
 * The value of `key` in `map` (undefined when `map` is not a mapping or has no `key`); a
 * key given twice is reported as the schema's `object` reports it, and the last one wins.
 */
function value(map: Node | null | undefined, key: string, at: At): Node | null | undefined {
  if (!isMap(map)) return undefined;
  let found: Node | null | undefined;
  let seen = false;
  for (const pair of map.items) {
    const keyNode = pair.key as Node;
    if (!isScalar(keyNode) || String(keyNode.value) !== key) continue;
    if (seen) at.ctx.report(child(at, key, keyNode), "is given twice", keyNode);
    seen = true;
    found = (pair.value as Node | null) ?? null;
  }
  return found;
}
