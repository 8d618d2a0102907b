/**
 * What console SQL may do: read. Enforced by SQLite's authorizer while each statement is
 * prepared, on top of read-only attachments and `query_only`, so that a typed statement
 * can neither write a shard, change a setting nor reach another file.
 */
import type { DatabaseSync } from "node:sqlite";
import { Action, actionName, setAuthorizer, Verdict } from "../store/authorizer.ts";

/** Pragmas whose argument names a table or index: they only read. */
const PRAGMAS_WITH_ARGUMENT = new Set([
  "table_info",
  "table_xinfo",
  "index_list",
  "index_info",
  "index_xinfo",
  "foreign_key_list",
  "foreign_key_check",
  "integrity_check",
  "quick_check",
]);

/** Pragmas that read without a value, and change something with one (`PRAGMA x = v`). */
const PRAGMAS_READ_WITHOUT_VALUE = new Set([
  "table_list",
  "database_list",
  "collation_list",
  "function_list",
  "module_list",
  "pragma_list",
  "compile_options",
  "page_count",
  "page_size",
  "freelist_count",
  "schema_version",
  "user_version",
  "application_id",
  "journal_mode",
  "encoding",
  "data_version",
  "max_page_count",
  "foreign_keys",
  "busy_timeout",
]);

/** A statement the console refused; the message says what was refused. */
export class ReadOnlyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReadOnlyError";
  }
}

export interface ReadOnlyPolicy {
  /** Runs `fn` (which prepares and steps statements) and names what the policy refused. */
  check<T>(fn: () => T): T;
}

/**
 * Makes `db` refuse everything but reading: writes, schema changes, ATTACH (and so
 * VACUUM INTO), transactions, pragma changes and `load_extension`. Install it after the
 * connection is set up (attachments, views): from then on it holds for every statement.
 */
export function installReadOnlyPolicy(db: DatabaseSync): ReadOnlyPolicy {
  (db as unknown as { limits: { attach: number } }).limits.attach = 0;
  let denied: string[] = [];
  const deny = (what: string) => {
    denied.push(what);
    return Verdict.DENY;
  };
  setAuthorizer(db, (action, arg1, arg2) => {
    switch (action) {
      case Action.SELECT:
      case Action.READ:
      case Action.RECURSIVE:
        return Verdict.OK;
      case Action.FUNCTION:
        return arg2 === "load_extension" ? deny("load_extension()") : Verdict.OK;
      case Action.PRAGMA: {
        const name = (arg1 ?? "").toLowerCase();
        if (PRAGMAS_WITH_ARGUMENT.has(name)) return Verdict.OK;
        if (PRAGMAS_READ_WITHOUT_VALUE.has(name) && arg2 === null) return Verdict.OK;
        return deny(arg2 === null ? `PRAGMA ${name}` : `PRAGMA ${name} = ${arg2}`);
      }
      case Action.ATTACH:
        return deny("ATTACH (and VACUUM INTO)");
      case Action.INSERT:
      case Action.UPDATE:
      case Action.DELETE:
        // CREATE, DROP and ALTER first show up as a write to the schema table.
        if (/^sqlite_(temp_)?(master|schema)$/i.test(arg1 ?? "")) {
          return deny("changing the schema (CREATE, DROP, ALTER)");
        }
        return deny(`${actionName(action)} into ${arg1}`.replace("DELETE into", "DELETE from"));
      case Action.TRANSACTION:
        return deny("transactions (BEGIN, COMMIT)");
      default:
        return deny(actionName(action).replaceAll("_", " "));
    }
  });
  return {
    check<T>(fn: () => T): T {
      denied = [];
      try {
        return fn();
      } catch (error) {
        const e = error as Error & { errcode?: number };
        if (
          denied.length &&
          (e.errcode === 23 || /not authorized|authorization denied/.test(e.message))
        ) {
          throw new ReadOnlyError(
            `read-only console: ${[...new Set(denied)].join(", ")} not allowed`,
          );
        }
        throw error;
      }
    },
  };
}
