/**
 * `litejoin query -c FILE [--tier hot|warm|cold|all] "SQL"`: one SELECT, written as for
 * the hot tier, answered from the chosen tiers; printed as a table, JSON or CSV. Works
 * beside a running engine: it only reads.
 */
import { loadConfig } from "../engine/mod.ts";
import { queryTiers, type Tier, type TierAnswer, TierQueryError } from "../engine/mod.ts";
import { StatusLine, TerminalProgress } from "../engine/mod.ts";
import { EXIT, fail } from "./exit.ts";

export interface QueryFlags {
  config: string;
  tier: Tier;
  history?: boolean;
  json?: boolean;
  csv?: boolean;
  maxRows: string;
}

export async function query(sql: string, flags: QueryFlags): Promise<void> {
  const maxRows = Number(flags.maxRows);
  if (!Number.isInteger(maxRows) || maxRows < 0) {
    console.error(`litejoin: --max-rows ${flags.maxRows}: expected a whole number (0 for all)`);
    Deno.exit(EXIT.usage);
  }
  let answer: TierAnswer;
  const status = Deno.stderr.isTerminal()
    ? new StatusLine((text) => Deno.stderr.writeSync(new TextEncoder().encode(text)))
    : undefined;
  try {
    const config = await loadConfig(flags.config);
    answer = await queryTiers(sql, {
      config,
      tier: flags.tier,
      history: flags.history,
      maxRows: maxRows || undefined,
      progress: status &&
        new TerminalProgress(status, { columns: () => Deno.consoleSize().columns }),
    });
  } catch (error) {
    status?.clear();
    if (error instanceof TierQueryError) {
      console.error(`litejoin: query: ${error.message}`);
      Deno.exit(EXIT.usage);
    }
    fail(error);
  }
  const text = flags.json
    ? toJson(answer)
    : flags.csv
    ? toCsv(answer)
    : toTable(answer, Deno.stdout.isTerminal() ? 80 : Infinity);
  await write(text);
  if (answer.truncated) {
    console.error(
      `litejoin: showing the first ${maxRows} rows; --max-rows N shows more (0: all)`,
    );
  }
}

async function write(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let done = 0; done < bytes.length;) {
    done += await Deno.stdout.write(bytes.subarray(done));
  }
}

/** Column names made unique (`key`, `key_2`) so rows can be objects. */
function uniqueNames(columns: string[]): string[] {
  const seen = new Map<string, number>();
  return columns.map((name) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}_${n}`;
  });
}

/** A JSON array of row objects, one row per line. */
export function toJson(answer: TierAnswer): string {
  const names = uniqueNames(answer.columns);
  const lines = answer.rows.map((row) =>
    JSON.stringify(Object.fromEntries(names.map((name, i) => [name, row[i]])))
  );
  return lines.length ? `[\n${lines.join(",\n")}\n]\n` : "[]\n";
}

/** RFC 4180 CSV with a header line; NULL is an empty field. */
export function toCsv(answer: TierAnswer): string {
  const field = (value: unknown) => {
    if (value === null || value === undefined) return "";
    const text = typeof value === "object" && !(value instanceof Uint8Array)
      ? JSON.stringify(value)
      : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [answer.columns, ...answer.rows].map((row) => row.map(field).join(",") + "\r\n")
    .join("");
}

/** An aligned table, numbers to the right; cells cut at `cellWidth`. */
export function toTable(answer: TierAnswer, cellWidth: number): string {
  const cell = (value: unknown) => {
    if (value === null || value === undefined) return "NULL";
    const text = typeof value === "object" && !(value instanceof Uint8Array)
      ? JSON.stringify(value)
      : String(value);
    const flat = text.replace(/\r?\n/g, "\\n");
    return flat.length > cellWidth ? flat.slice(0, cellWidth - 1) + "…" : flat;
  };
  const cells = answer.rows.map((row) => row.map(cell));
  const numeric = answer.columns.map((_, i) =>
    answer.rows.length > 0 &&
    answer.rows.every((row) => row[i] === null || typeof row[i] === "number")
  );
  const widths = answer.columns.map((name, i) =>
    Math.max(name.length, ...cells.map((row) => row[i].length))
  );
  const line = (values: string[], header = false) =>
    values.map((v, i) => numeric[i] && !header ? v.padStart(widths[i]) : v.padEnd(widths[i])).join(
      " | ",
    ).trimEnd();
  const count = answer.rows.length;
  return [
    line(answer.columns, true),
    widths.map((w) => "-".repeat(w)).join("-+-"),
    ...cells.map((row) => line(row)),
    `(${count} row${count === 1 ? "" : "s"})`,
  ].join("\n") + "\n";
}
