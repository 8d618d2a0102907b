/** Topic names and the tables that hold them. */
import { DatabaseSync } from "node:sqlite";
import { string } from "../schema/schema.ts";

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Why `name` cannot be a topic, or undefined if it can. A topic becomes a table that
 * users write unquoted in SQL (`FROM orders`), so it must be a plain identifier that
 * SQLite does not read as a keyword.
 */
export function topicNameProblem(name: string): string | undefined {
  if (!NAME.test(name)) {
    return "must be lower-case letters, digits and _ (not starting with a digit), at most 63 characters";
  }
  if (
    name.startsWith("sqlite_") || name.startsWith("_litejoin") || name.startsWith("_litestream")
  ) {
    return "is reserved (names starting with sqlite_, _litejoin or _litestream)";
  }
  const db = new DatabaseSync(":memory:");
  try {
    db.exec(`CREATE TABLE "${name}"(x)`);
    db.prepare(`SELECT x FROM ${name}`);
    return undefined;
  } catch {
    return "is an SQL keyword, so queries could not name it unquoted; choose another name";
  } finally {
    db.close();
  }
}

/** A config field that names a topic (see `topicNameProblem`). */
export const topicName = () => string().check(topicNameProblem);

/** The statements that create a topic's table in one shard; safe to run again. */
export function topicDdl(topic: string, schema = "main"): string {
  return `
    CREATE TABLE IF NOT EXISTS "${schema}"."${topic}" (
      key TEXT PRIMARY KEY,
      payload TEXT NOT NULL,
      timestamp INTEGER NOT NULL,
      _seq INTEGER NOT NULL,
      _change TEXT
    );
    CREATE INDEX IF NOT EXISTS "${schema}"."${topic}_timestamp" ON "${topic}"(timestamp);`;
}
