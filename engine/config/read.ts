/**
 * The first two steps of reading a config file, shared by the full loader (`load.ts`)
 * and the light socket finder (`socket.ts`) so that both fail with the same one line:
 * reading the file, and parsing it as YAML. Imports no component.
 */
import { type Document, LineCounter, parseDocument } from "yaml";
import { ConfigError } from "../schema/config_error.ts";
import { yamlSyntaxError } from "../schema/yaml_error.ts";

/** The text of `file`; a `ConfigError` naming the file and the fix when it cannot be read. */
export async function readConfigText(file: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : (error as Error).message;
    throw new ConfigError([
      `${file}: cannot read the config: ${reason} (pass another with -c FILE; litejoin init writes a starter one)`,
    ]);
  }
}

/** A parsed config file and `at(offset)`, its `file:line:col`. */
export interface ConfigDocument {
  doc: Document;
  at: (offset: number) => string;
}

/** Parses `text` as YAML; a syntax error is a `ConfigError` of one line (`yaml_error.ts`). */
export function parseConfigYaml(text: string, file: string): ConfigDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length) throw new ConfigError([yamlSyntaxError(text, doc.errors, at)]);
  return { doc, at };
}
