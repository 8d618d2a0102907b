/**
 * Facts about tier files that queries need and that only change when a file does, kept
 * on disk under `<cache_dir>/facts/` so that a question asked twice scans once:
 *  - the JSON types found at each path a query extracts, per file;
 *  - the keys stored more than once across a set of files (a key that expired, was
 *    written again and expired again) or deleted there (a tombstone): the only keys
 *    whose latest version has to be picked; every other key is read straight from the
 *    files, so `count(*)` is answered from their footers.
 * A file is known by its path, size and modification time: a warm file that gains late
 * rows is a new file. Entries are written atomically; deleting the directory is safe.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type DuckDBConnection, sqlString } from "./duck.ts";
import { parquetRelation } from "./parquet.ts";

/** Past this many repeated keys a file set is not indexed: every key is deduplicated. */
const MAX_REPEATED = 200_000;

export type JsonTypes = Map<string, (string | null)[]>;

export class FileFacts {
  constructor(readonly con: DuckDBConnection, readonly dir: string) {}

  async #identity(path: string): Promise<string> {
    const stat = await Deno.stat(path);
    return `${path}\n${stat.size}\n${stat.mtime?.getTime() ?? 0}`;
  }

  async #read<T>(kind: string, id: string): Promise<T | undefined> {
    try {
      return JSON.parse(await Deno.readTextFile(join(this.dir, kind, `${hash(id)}.json`)));
    } catch {
      return undefined;
    }
  }

  async #write(kind: string, id: string, value: unknown): Promise<void> {
    const path = join(this.dir, kind, `${hash(id)}.json`);
    const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    try {
      await Deno.mkdir(join(this.dir, kind), { recursive: true });
      await Deno.writeTextFile(tmp, JSON.stringify(value));
      await Deno.rename(tmp, path);
    } catch {
      await Deno.remove(tmp).catch(() => {}); // a cache: a failed write only costs a rescan
    }
  }

  /**
   * The keys stored more than once in `files` (all of one topic), or as a tombstone; or
   * `"all"` when there are too many to be worth indexing.
   */
  async repeatedKeys(files: readonly string[]): Promise<string[] | "all"> {
    if (files.length === 0) return [];
    const id = (await Promise.all([...files].sort().map((f) => this.#identity(f)))).join("\n");
    const known = await this.#read<string[] | "all">("repeated", id);
    if (known) return known;
    const rows = (await this.con.runAndReadAll(
      `SELECT key FROM ${parquetRelation(files)} GROUP BY key
       HAVING count(*) > 1 OR bool_or(payload IS NULL) LIMIT ${MAX_REPEATED + 1}`,
    )).getRowsJS().map((r) => String(r[0]));
    const value = rows.length > MAX_REPEATED ? "all" : rows;
    await this.#write("repeated", id, value);
    return value;
  }

  /** The JSON types at each wanted `column path` across `files`, scanning only what is new. */
  async jsonTypes(
    files: readonly string[],
    wanted: readonly { column: string; path: string }[],
  ): Promise<JsonTypes> {
    const keys = [...new Set(wanted.map((w) => `${w.column} ${w.path}`))];
    const out: JsonTypes = new Map(keys.map((k) => [k, []]));
    if (keys.length === 0 || files.length === 0) return out;
    const known = new Map<string, Record<string, (string | null)[]>>();
    const missing = new Map<string, string[]>(); // file -> keys to scan
    for (const file of files) {
      const facts = await this.#read<Record<string, (string | null)[]>>(
        "types",
        await this.#identity(file),
      ) ?? {};
      known.set(file, facts);
      const absent = keys.filter((k) => !(k in facts));
      if (absent.length) missing.set(file, absent);
    }
    if (missing.size) {
      const scan = [...new Set([...missing.values()].flat())];
      const columns = scan.map((k, i) => {
        const [column, path] = splitKey(k);
        return `list(DISTINCT json_type(${column}, ${sqlString(path)})) AS t${i}`;
      });
      const rows = (await this.con.runAndReadAll(
        `SELECT filename, ${columns.join(", ")}
         FROM read_parquet([${[...missing.keys()].map(sqlString).join(", ")}], filename = true)
         GROUP BY filename`,
      )).getRowsJS();
      for (const [filename, ...types] of rows) {
        const facts = known.get(String(filename))!;
        scan.forEach((k, i) => facts[k] = (types[i] ?? []) as (string | null)[]);
      }
      for (const file of missing.keys()) {
        const facts = known.get(file)!;
        for (const k of scan) facts[k] ??= []; // an empty file
        await this.#write("types", await this.#identity(file), facts);
      }
    }
    for (const facts of known.values()) {
      for (const k of keys) out.get(k)!.push(...facts[k]);
    }
    return out;
  }
}

function splitKey(key: string): [string, string] {
  const space = key.indexOf(" ");
  return [key.slice(0, space), key.slice(space + 1)];
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}
