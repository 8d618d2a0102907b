/**
 * SQLite's lexical rules, enough to find where the clauses of a statement start and
 * end without being fooled by strings, quoted names or comments. The delta rewrite
 * works on these tokens; what they mean is always checked by SQLite afterwards.
 */

export type TokenKind =
  | "word" // a bare identifier or keyword
  | "quoted" // "name", `name` or [name]
  | "string" // 'text'
  | "number"
  | "blob" // x'00ff'
  | "param" // ?, ?1, :name, @name, $name
  | "op"; // punctuation and operators

export interface Token {
  kind: TokenKind;
  /** The source text of the token. */
  text: string;
  /**
   * What the token stands for: a lower-cased word, an unquoted name, the value of a
   * string literal; otherwise the text.
   */
  value: string;
  start: number;
  end: number;
}

const OPERATORS = [
  "->>",
  "->",
  "||",
  "<=",
  ">=",
  "==",
  "!=",
  "<>",
  "<<",
  ">>",
  "=",
  "<",
  ">",
  "+",
  "-",
  "*",
  "/",
  "%",
  "&",
  "|",
  "~",
  ".",
  ",",
  ";",
  "(",
  ")",
];

const isWordStart = (c: string) => /[A-Za-z_]/.test(c) || c.charCodeAt(0) > 0x7f;
const isWordPart = (c: string) => /[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) > 0x7f;

/** The tokens of `sql`, without whitespace and comments. Throws `SyntaxError` on an unterminated literal. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number, value?: string) =>
    tokens.push({
      kind,
      text: sql.slice(start, end),
      value: value ?? sql.slice(start, end),
      start,
      end,
    });
  const closing = (open: number, close: string, what: string): number => {
    let j = open + 1;
    for (;;) {
      j = sql.indexOf(close, j);
      if (j < 0) throw new SyntaxError(`unterminated ${what} at offset ${open}`);
      if (close !== "]" && sql[j + 1] === close) {
        j += 2; // a doubled quote stands for itself
        continue;
      }
      return j;
    }
  };
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "'") {
      const end = closing(i, "'", "string");
      push("string", i, end + 1, sql.slice(i + 1, end).replaceAll("''", "'"));
      i = end + 1;
    } else if (c === '"' || c === "`") {
      const end = closing(i, c, "quoted name");
      push("quoted", i, end + 1, sql.slice(i + 1, end).replaceAll(c + c, c));
      i = end + 1;
    } else if (c === "[") {
      const end = closing(i, "]", "quoted name");
      push("quoted", i, end + 1, sql.slice(i + 1, end));
      i = end + 1;
    } else if ((c === "x" || c === "X") && sql[i + 1] === "'") {
      const end = closing(i + 1, "'", "blob");
      push("blob", i, end + 1);
      i = end + 1;
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(sql[i + 1] ?? ""))) {
      const m = /^(0[xX][0-9A-Fa-f_]+|(\d[\d_]*)?(\.[\d_]*)?([eE][+-]?\d[\d_]*)?)/.exec(
        sql.slice(i),
      )!;
      push("number", i, i + m[0].length);
      i += m[0].length;
    } else if (c === "?") {
      const m = /^\?\d*/.exec(sql.slice(i))!;
      push("param", i, i + m[0].length);
      i += m[0].length;
    } else if ((c === ":" || c === "@" || c === "$") && isWordStart(sql[i + 1] ?? " ")) {
      let j = i + 1;
      while (j < sql.length && isWordPart(sql[j])) j++;
      push("param", i, j);
      i = j;
    } else if (isWordStart(c)) {
      let j = i + 1;
      while (j < sql.length && isWordPart(sql[j])) j++;
      push("word", i, j, sql.slice(i, j).toLowerCase());
      i = j;
    } else {
      const op = OPERATORS.find((o) => sql.startsWith(o, i));
      if (!op) throw new SyntaxError(`unexpected character ${JSON.stringify(c)} at offset ${i}`);
      push("op", i, i + op.length);
      i += op.length;
    }
  }
  return tokens;
}

/** True when `token` is the bare keyword `word` (lower case). */
export function isWord(token: Token | undefined, ...words: string[]): boolean {
  return token?.kind === "word" && words.includes(token.value);
}

export function isOp(token: Token | undefined, ...ops: string[]): boolean {
  return token?.kind === "op" && ops.includes(token.value);
}

/** A name: a bare word or a quoted name, compared case-insensitively as SQLite does. */
export function nameOf(token: Token | undefined): string | undefined {
  if (token?.kind === "word" || token?.kind === "quoted") return token.value.toLowerCase();
  return undefined;
}

/**
 * Nesting depth before each token: parentheses, and CASE … END (whose WHEN clauses
 * hold ANDs that are not conjunctions of the enclosing expression).
 */
export function depths(tokens: readonly Token[]): number[] {
  const out: number[] = [];
  let depth = 0;
  for (const t of tokens) {
    if (isOp(t, ")") || isWord(t, "end")) depth--;
    out.push(depth);
    if (isOp(t, "(") || isWord(t, "case")) depth++;
  }
  return out;
}

/** Quotes a name for SQL. */
export function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for SQL. */
export function quoteString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
