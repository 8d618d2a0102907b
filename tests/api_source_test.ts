/**
 * The API source inside the engine, on its own schedule: the change stream reaches a
 * join and a real webhook with `_change`, a restart on the same data directory emits
 * nothing again, and a misbehaving upstream never stops the engine.
 */
import assert from "node:assert/strict";
import { createLogger } from "../engine/log.ts";
import { type ApiRecord, startApiServer, users } from "./_api_server.ts";
import {
  queryFile,
  type Receiver,
  startEngine,
  startReceiver,
  type TestEngine,
  waitFor,
} from "./_helpers.ts";

const config = (api: string, hook: string, extra = "") => `
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - name: users_api
    type: api
    url: "${api}/cursor"
    items: data
    pagination: { type: cursor, param: cursor, next: meta.next_cursor }
    interval: 50ms
    topic: users
    key: id
    deletes: true
    previous: true
    ${extra}
joins:
  - name: user_changes
    key: id
    sql: SELECT key AS id, json_extract(payload, '$.name') AS name, _change AS change FROM users
    sinks: [hook]
sinks:
  - { name: hook, type: http, url: "${hook}", backoff: { initial: 10ms, max: 50ms } }
`;

const counter = (t: TestEngine, name: string, labels: Record<string, string>) =>
  t.engine.metrics.counter(name, "").get(labels);
const okPolls = (t: TestEngine) =>
  counter(t, "litejoin_source_api_polls_total", { source: "users_api", outcome: "ok" });

/** Every committed row of topic users: key → [timestamp, _seq]. */
function rows(t: TestEngine) {
  const out: Record<string, [number, number]> = {};
  for (const shard of [0, 1]) {
    const file = `${t.dir}/data/shard_${shard}.db`;
    for (const r of queryFile(file, "SELECT key, timestamp, _seq FROM users")) {
      out[String(r.key)] = [Number(r.timestamp), Number(r._seq)];
    }
  }
  return out;
}

const summary = (r: Receiver, from = 0) =>
  r.results().slice(from).map((x) => ({
    key: x.key,
    op: x._change?.op,
    row: "change" in x.row ? { ...x.row, change: JSON.parse(String(x.row.change)) } : x.row,
  })).sort((a, b) => a.key.localeCompare(b.key, "en", { numeric: true }));

Deno.test("api source through the engine: _change reaches a join's webhook, and a restart re-emits nothing", async () => {
  const api = await startApiServer(users(250));
  const receiver = await startReceiver();
  let t = await startEngine(config(api.url, receiver.url));
  try {
    await waitFor("the first poll delivered", () => receiver.results().length === 250);
    assert.deepEqual(summary(receiver)[0], {
      key: "u1",
      op: "insert",
      row: { id: "u1", name: "user 1", change: { op: "insert" } },
    });
    const before = rows(t);
    const seqs = t.engine.writer.seqs();
    // Later polls of the same data write nothing, so rows keep their timestamps.
    const polls = okPolls(t);
    await waitFor("two more polls", () => okPolls(t) >= polls + 2);
    assert.deepEqual(t.engine.writer.seqs(), seqs);

    await t.stop();
    t = await startEngine(config(api.url, receiver.url), { dir: t.dir });
    await waitFor("two polls after the restart", () => okPolls(t) >= 2);
    assert.deepEqual(t.engine.writer.seqs(), seqs);
    assert.deepEqual(rows(t), before);
    assert.equal(receiver.results().length, 250);

    const next: ApiRecord[] = users(251).filter((u) => u.id !== "u7");
    next[2].name = "Ada";
    api.set(next);
    await waitFor("three changes delivered", () => receiver.results().length === 253);
    assert.deepEqual(summary(receiver, 250), [
      {
        key: "u3",
        op: "update",
        row: {
          id: "u3",
          name: "Ada",
          change: { op: "update", fields: ["name"], previous: users(1, 3)[0] },
        },
      },
      { key: "u7", op: "delete", row: { id: "u7" } },
      {
        key: "u251",
        op: "insert",
        row: { id: "u251", name: "user 251", change: { op: "insert" } },
      },
    ]);
    const after = rows(t);
    assert.equal(after.u100[0], before.u100[0], "an unchanged row keeps its timestamp");
    assert.equal("u7" in after, false);
    assert.equal(
      counter(t, "litejoin_source_api_changes_total", { source: "users_api", op: "update" }),
      1,
    );
  } finally {
    await t.stop();
    await receiver.stop();
    await api.stop();
  }
});

Deno.test("a misbehaving API never stops the engine: each failure is logged once and counted", async () => {
  const api = await startApiServer(users(5));
  const receiver = await startReceiver();
  const lines: string[] = [];
  const log = createLogger({ level: "warn", write: (l) => lines.push(l) });
  api.faults.push(
    { raw: "<html>down for maintenance</html>" },
    { status: 500, body: "oops" },
    { json: { nothing: "here" } },
    { json: { data: [{ id: "a" }], meta: { next_cursor: "c100" } } },
    { status: 401, body: "bad token" },
  );
  const t = await startEngine(config(api.url, receiver.url, "retries: 0"), { log });
  try {
    await waitFor("the upstream recovers", () => receiver.results().length === 5);
    const failed = counter(t, "litejoin_source_api_polls_total", {
      source: "users_api",
      outcome: "failed",
    });
    assert.equal(failed, 4);
    const errors = lines.filter((l) => l.includes("source.users_api: poll failed"));
    assert.equal(errors.length, 4);
    assert.match(
      errors[0],
      new RegExp(`GET ${api.url}/cursor: answered 200 with a body that is not JSON`),
    );
    assert.match(errors[1], /answered 500: oops$/);
    assert.match(errors[2], /the response has nothing at "data"/);
    assert.match(errors[3], /cursor=c100: answered 401: bad token$/);
    const health = await fetch(`${t.url}/healthz`);
    assert.equal((await health.json()).status, "ok");
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    for (const reason of ["json", "status", "items"]) {
      assert.match(
        metrics,
        new RegExp(
          `litejoin_source_api_errors_total\\{reason="${reason}",source="users_api"\\} [12]\\n`,
        ),
      );
    }
    // The failed poll that read page one before page two failed stored nothing of it.
    assert.deepEqual(receiver.results().map((r) => r.key).sort(), ["u1", "u2", "u3", "u4", "u5"]);
  } finally {
    await t.stop();
    await receiver.stop();
    await api.stop();
  }
});
