import assert from "node:assert/strict";
import { startEngine, waitFor } from "../../tests/_helpers.ts";
import { ControlClient, RemoteError } from "./client.ts";
import type { SqlResult } from "./protocol.ts";
import { sqlRunnerCommand } from "./sql_runner.ts";

const RUNAWAY =
  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

/** Pids of this process's `litejoin internal-sql-runner` children. */
function sqlProcesses(): number[] {
  const pids: number[] = [];
  for (const task of Deno.readDirSync(`/proc/${Deno.pid}/task`)) {
    let children = "";
    try {
      children = Deno.readTextFileSync(`/proc/${Deno.pid}/task/${task.name}/children`).trim();
    } catch { /* the thread ended */ }
    for (const pid of children ? children.split(" ").map(Number) : []) {
      try {
        const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
        const state = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]?.[0];
        if (cmdline.includes("internal-sql-runner") && state !== "Z") pids.push(pid);
      } catch { /* gone */ }
    }
  }
  return pids;
}

/** CPU time (clock ticks) used by a process so far. */
function cpuTicks(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** Waits until the query process `pid` is busy running a query. */
async function busy(pid: number): Promise<void> {
  const start = cpuTicks(pid);
  await waitFor(`process ${pid} to run the query`, () => cpuTicks(pid) - start >= 10);
}

async function withEngine(
  control: string,
  fn: (client: ControlClient, post: (body: unknown) => Promise<Response>) => Promise<void>,
) {
  const t = await startEngine(`engine: { data_dir: ./data, shard_count: 2 }
control: ${control}
sources:
  - { name: in, type: http, path: /in, topic: orders, key: id }
`);
  const client = await ControlClient.connect(t.engine.config.engine.socket!);
  try {
    await fn(client, (body) => t.post("/in", body));
  } finally {
    client.close();
    await t.stop();
  }
  assert.deepEqual(sqlProcesses(), [], "the engine ends its query processes when it stops");
}

Deno.test("sql answers read-only queries over the socket, within the configured row limit", () =>
  withEngine("{ sql_max_rows: 3 }", async (client, post) => {
    await post([1, 2, 3, 4, 5].map((n) => ({ id: `o-${n}`, n })));
    const result = await client.request<SqlResult>("sql", {
      sql: "SELECT key, json_extract(payload, '$.n') AS n FROM orders ORDER BY n",
    });
    assert.deepEqual(result.columns, ["key", "n"]);
    assert.deepEqual(result.rows, [["o-1", 1], ["o-2", 2], ["o-3", 3]]);
    assert.deepEqual([result.truncated, result.row_limit], [true, 3]);
    const two = await client.request<SqlResult>("sql", {
      sql: "SELECT key FROM orders ORDER BY key",
      max_rows: 2,
    });
    assert.deepEqual([two.rows.length, two.row_limit], [2, 2]);
    await assert.rejects(
      client.request("sql", { sql: "DELETE FROM s0.orders" }),
      (e) =>
        e instanceof RemoteError && e.code === "read_only" &&
        e.message === "read-only console: DELETE from orders not allowed",
    );
    await assert.rejects(
      client.request("sql", {}),
      (e) => e instanceof RemoteError && e.code === "bad_request",
    );
  }));

Deno.test("a query past its time limit is stopped, its process killed, and the next query runs", () =>
  withEngine("{ sql_timeout: 30s }", async (client) => {
    await client.request("sql", { sql: "SELECT 1" });
    const [before] = sqlProcesses();
    assert.ok(before, "a query process runs");
    await assert.rejects(
      client.request("sql", { sql: RUNAWAY, timeout_ms: 300 }),
      (e) =>
        e instanceof RemoteError && e.code === "timeout" &&
        /^query stopped after 300 ms \(time limit\)/.test(e.message),
    );
    assert.ok(!sqlProcesses().includes(before), "the runaway query's process is gone");
    const next = await client.request<SqlResult>("sql", { sql: "SELECT 6 * 7 AS answer" });
    assert.deepEqual(next.rows, [[42]]);
  }));

Deno.test("sql.cancel stops a running query, and so does the client going away", () =>
  withEngine("{ sql_processes: 2 }", async (client) => {
    await client.request("sql", { sql: "SELECT 1" });
    const [first] = sqlProcesses();
    const running = client.request("sql", { sql: RUNAWAY, query_id: "long" });
    await busy(first);
    assert.deepEqual(await client.request("sql.cancel", { query_id: "other" }), { cancelled: 0 });
    assert.deepEqual(await client.request("sql.cancel", { query_id: "long" }), { cancelled: 1 });
    await assert.rejects(running, (e) => e instanceof RemoteError && e.code === "cancelled");
    assert.ok(!sqlProcesses().includes(first), "the cancelled query's process is gone");

    const leaver = await ControlClient.connect(client.path);
    await leaver.request("sql", { sql: "SELECT 1" });
    const [second] = sqlProcesses();
    const abandoned = leaver.request("sql", { sql: RUNAWAY }).catch(() => "closed");
    await busy(second);
    leaver.close();
    assert.equal(await abandoned, "closed");
    await waitFor("the abandoned query's process to end", () => !sqlProcesses().includes(second));
  }));

Deno.test("query processes start the CLI's hidden internal-sql-runner: through deno run from source, the binary itself once compiled", () => {
  const { command, args } = sqlRunnerCommand();
  assert.equal(command, Deno.execPath());
  const root = new URL("../../", import.meta.url).pathname;
  assert.deepEqual(args, [
    "run",
    "-A",
    "--no-prompt",
    `--config=${root}deno.json`,
    `${root}engine/control/sql_runner_main.ts`,
    "internal-sql-runner",
  ]);
});
