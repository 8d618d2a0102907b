/**
 * Where a JSON text first goes wrong, for error messages. Only called after
 * `JSON.parse` has failed, so it favours clarity over speed.
 */
import { MAX_JSON_DEPTH } from "./_json_depth.ts";

export interface JsonProblem {
  offset: number;
  line: number;
  column: number;
  message: string;
}

export function findJsonProblem(text: string): JsonProblem {
  let i = 0;
  let depth = 0;
  const fail = (message: string): never => {
    throw { offset: i, message };
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${describe(text[i])}`);
  };
  const string = () => {
    i++;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') return void i++;
      if (c === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail("bad \\u escape");
          i += 5;
        } else if ('"\\/bfnrt'.includes(text[i] ?? "")) i++;
        else fail("bad escape in string");
      } else if (c < " ") fail("control character in string (escape it)");
      else i++;
    }
    fail("unterminated string");
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!match) fail(`unexpected ${describe(text[i])}`);
    i += match![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      // Past SQLite's limit the text is refused anyway; stopping there also bounds the recursion.
      if (++depth > MAX_JSON_DEPTH) fail(`nested deeper than ${MAX_JSON_DEPTH} levels`);
      if (c === "{") object();
      else array();
      depth--;
      return;
    }
    if (c === '"') return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    fail(c === undefined ? "unexpected end of input" : `unexpected ${describe(c)}`);
  };
  const object = () => {
    i++;
    ws();
    if (text[i] === "}") return void i++;
    for (;;) {
      ws();
      if (text[i] !== '"') {
        fail(`expected a double-quoted property name, found ${describe(text[i])}`);
      }
      string();
      ws();
      if (text[i] !== ":") fail(`expected ':' after property name, found ${describe(text[i])}`);
      i++;
      value();
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "}") return void i++;
      else fail(`expected ',' or '}' in object, found ${describe(text[i])}`);
    }
  };
  const array = () => {
    i++;
    ws();
    if (text[i] === "]") return void i++;
    for (;;) {
      value();
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "]") return void i++;
      else fail(`expected ',' or ']' in array, found ${describe(text[i])}`);
    }
  };
  let problem: { offset: number; message: string };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${describe(text[i])} after the JSON value`);
    problem = { offset: 0, message: "invalid JSON" };
  } catch (thrown) {
    problem = thrown as { offset: number; message: string };
  }
  const before = text.slice(0, problem.offset);
  const line = before.split("\n").length;
  const column = problem.offset - before.lastIndexOf("\n");
  return { ...problem, line, column };
}

function describe(c: string | undefined): string {
  return c === undefined ? "end of input" : JSON.stringify(c);
}
