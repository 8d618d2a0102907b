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
import { isMap, type Node } from "yaml";
import { child, Context, invalid } from "../schema/schema.ts";
import { ConfigError } from "../schema/config_error.ts";
import { dataDirField, engineFiles, socketField } from "../schema/engine_files.ts";
import { parseConfigYaml, readConfigText } from "./read.ts";

export async function socketOfConfig(
  file: string,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Promise<string> {
  const text = await readConfigText(file);
  const { doc, at } = parseConfigYaml(text, file);
  const top = doc.contents as Node | null;
  const engine = isMap(top) ? top.get("engine", true) as Node | null | undefined : undefined;
  for (const [node, path] of [[top, ""], [engine, "engine: "]] as const) {
    if (node != null && !isMap(node)) {
      throw new ConfigError([
        `${at(node.range?.[0] ?? 0)}: ${path}expected a mapping (litejoin validate -c ${file} ` +
        "says what the config should look like)",
      ]);
    }
  }
  const ctx = new Context(env);
  const root = child({ ctx, path: "", offset: 0 }, "engine", engine);
  const field = (name: string) => isMap(engine) ? engine.get(name, true) as Node | null : undefined;
  const dataDir = dataDirField().parse(
    field("data_dir"),
    child(root, "data_dir", field("data_dir")),
  );
  const socket = socketField().parse(field("socket"), child(root, "socket", field("socket")));
  if (dataDir === invalid || socket === invalid || ctx.problems.length) {
    throw new ConfigError(
      ctx.problems.sort((a, b) => a.offset - b.offset)
        .map((p) => `${at(p.offset)}: ${p.path}: ${p.message}`),
    );
  }
  return engineFiles(file, { data_dir: dataDir, socket }).socket;
}
