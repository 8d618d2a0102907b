/**
 * Splitting typed SQL into statements: `node:sqlite` prepares only the first statement
 * of a text and silently drops the rest, so the console checks there is exactly one.
 */

/**
 * The statements in `sql`, split at semicolons outside quotes, brackets and comments,
 * each trimmed; statements that are empty or only comments are left out.
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  let meaningful = false;
  const end = (to: number) => {
    const text = sql.slice(start, to).trim();
    if (meaningful && text) statements.push(text);
    meaningful = false;
  };
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === "-" && sql[i + 1] === "-") {
      const nl = sql.indexOf("\n", i);
      i = nl < 0 ? sql.length : nl + 1;
      continue;
    }
    if (ch === "/" && sql[i + 1] === "*") {
      const close = sql.indexOf("*/", i + 2);
      i = close < 0 ? sql.length : close + 2;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === "`" || ch === "[") {
      const closer = ch === "[" ? "]" : ch;
      let j = i + 1;
      for (; j < sql.length; j++) {
        if (sql[j] !== closer) continue;
        if (closer !== "]" && sql[j + 1] === closer) j++; // doubled quote: an escaped one
        else break;
      }
      meaningful = true;
      i = j + 1;
      continue;
    }
    if (ch === ";") {
      end(i);
      start = i + 1;
    } else if (!/\s/.test(ch)) {
      meaningful = true;
    }
    i++;
  }
  end(sql.length);
  return statements;
}

/** The one statement of `sql`, or a `RangeError` saying why there is not exactly one. */
export function singleStatement(sql: string): string {
  const statements = splitStatements(sql);
  if (statements.length === 0) throw new RangeError("nothing to run: the query is empty");
  if (statements.length > 1) {
    throw new RangeError(
      `one statement at a time: this text holds ${statements.length} (separated by ;)`,
    );
  }
  return statements[0];
}
