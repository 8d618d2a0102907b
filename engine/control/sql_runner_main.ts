/**
 * The entry of a console SQL process (`sql_child.ts`), started by `sql_runner.ts`: from
 * source as `deno run engine/control/sql_runner_main.ts`; in a compiled binary, which has
 * one entry, as the binary itself with the argument `SQL_RUNNER_ARGUMENT`, which the CLI
 * passes on to `runSqlChild`.
 */
import { runSqlChild } from "./sql_child.ts";

export { SQL_RUNNER_ARGUMENT } from "./sql_runner_argument.ts";

if (import.meta.main) await runSqlChild();
