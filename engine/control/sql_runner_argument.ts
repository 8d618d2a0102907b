/**
 * The hidden argument that makes a compiled binary a console SQL process
 * (`sql_runner_main.ts`). Its own file, so that the CLI can name the command without
 * loading the SQL child and node:sqlite behind it.
 */
export const SQL_RUNNER_ARGUMENT = "internal-sql-runner";
