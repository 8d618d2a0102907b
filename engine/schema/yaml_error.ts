/**
 * A YAML syntax error as one line: the first problem the parser found, at its position,
 * with the fix where we know it. Errors after the first are dropped: once the parser
 * has lost its place, they are consequences of the first (one `${VAR}` inside `{ }`
 * gives a dozen), and only mislead.
 */
import type { YAMLError } from "yaml";

/** `${NAME}` or `${NAME:-default}`, as `interpolate` in schema.ts reads them. */
const VARIABLE = /\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}/g;

/**
 * `where: yaml: message` for the first of `errors`, `where` from `at(offset)`. An
 * unquoted `${VAR}` inside a flow collection (`{ data_dir: ${DATA} }`) is the common
 * case: YAML reads its `{` as the start of a mapping, so the line says to quote it.
 */
export function yamlSyntaxError(
  text: string,
  errors: readonly YAMLError[],
  at: (offset: number) => string,
): string {
  const first = errors[0];
  const offset = first.pos[0];
  const variable = unquotedVariableAt(text, offset);
  if (variable) {
    return `${at(variable.offset)}: yaml: ${variable.text} inside ${variable.inside} must be ` +
      `quoted, or YAML reads its { as the start of a mapping: write "${variable.text}"`;
  }
  const message = first.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
  return `${at(offset)}: yaml: ${message}`;
}

/**
 * The `${VAR}` on the line of `offset` that the error is in or just after, when it is
 * unquoted inside `{ }` or `[ ]` on that line.
 */
function unquotedVariableAt(
  text: string,
  offset: number,
): { text: string; offset: number; inside: string } | undefined {
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  const lineEnd = text.indexOf("\n", offset);
  const line = text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd);
  for (const match of line.matchAll(VARIABLE)) {
    const start = lineStart + match.index;
    // The parser stops at the `{` of `${`, or soon after it; a variable after the
    // error is not its cause.
    if (start > offset) break;
    if (offset > start + match[0].length) continue;
    const inside = openFlow(line.slice(0, match.index));
    if (inside) return { text: match[0], offset: start, inside };
  }
  return undefined;
}

/** `{ }` or `[ ]` if `before` leaves one open outside quotes, else undefined. */
function openFlow(before: string): string | undefined {
  const open: string[] = [];
  let quote: string | undefined;
  for (const c of before) {
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#") break;
    else if (c === "{" || c === "[") open.push(c);
    else if (c === "}" || c === "]") open.pop();
  }
  if (quote) return undefined;
  const last = open.at(-1);
  return last === "{" ? "{ }" : last === "[" ? "[ ]" : undefined;
}
