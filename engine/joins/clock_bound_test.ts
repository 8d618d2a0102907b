import assert from "node:assert/strict";
import { analyzeDelta } from "./delta_plan.ts";

const TOPICS = ["customers", "orders"];

Deno.test("clock bounds on a topic's timestamp or payload field run by delta; other clock reads say why not", () => {
  const bounds = (sql: string) => {
    const a = analyzeDelta(sql, TOPICS);
    assert.ok(a.exact, `${sql}: ${!a.exact && a.reason}`);
    return a.plan.clock?.map((b) => `${b.topic}:${b.expr}`);
  };
  const reason = (sql: string) => {
    const a = analyzeDelta(sql, TOPICS);
    assert.ok(!a.exact, `${sql} should run in full`);
    return a.reason;
  };
  assert.deepEqual(
    bounds(`SELECT o.key FROM orders o JOIN customers c ON c.key = o.payload ->> '$.c'
            AND c.timestamp >= unixepoch('now') * 1000 - 60000
            WHERE unixepoch() * 1000 - 3600000 < o.timestamp`),
    [
      "customers:unixepoch(:__lj_now) * 1000 - 60000",
      "orders:unixepoch(:__lj_now) * 1000 - 3600000",
    ],
  );
  assert.deepEqual(
    bounds(`SELECT key FROM orders WHERE timestamp NOT BETWEEN unixepoch('now') * 1000 AND 5`),
    ["orders:unixepoch(:__lj_now) * 1000"],
  );
  assert.equal(bounds("SELECT key FROM orders WHERE timestamp > 5"), undefined);
  assert.deepEqual(
    bounds(`SELECT key FROM orders
            WHERE key <> 'x' AND ((timestamp >= unixepoch() * 1000 - 5000) AND key <> 'y')`),
    ["orders:unixepoch(:__lj_now) * 1000 - 5000"],
  );
  assert.match(reason("SELECT key, datetime('now') AS t FROM orders"), /in its result columns/);
  assert.match(
    reason("SELECT key FROM orders WHERE timestamp > unixepoch('now') * 1000 OR key = 'a'"),
    /which is not a single comparison/,
  );
  assert.match(
    reason("SELECT key FROM orders WHERE NOT (timestamp > unixepoch() AND key = 'a')"),
    /in `NOT \(timestamp > unixepoch\('now'\) AND key = 'a'\)`, which is not a single comparison/,
  );
  assert.match(
    reason("SELECT key FROM orders WHERE timestamp > unixepoch('now') * 1000 - timestamp"),
    /whose clock side also reads columns/,
  );
  assert.match(
    reason(`SELECT o.key FROM orders o WHERE o.key IN
              (SELECT key FROM orders WHERE timestamp > unixepoch('now'))`),
    /reads orders outside the FROM clause|not a single comparison|other than/,
  );
  // A payload field is bounded through an index of it, which the plan asks the shards for.
  const a = analyzeDelta(
    `SELECT o.key FROM orders o JOIN customers c ON c.key = o.payload ->> '$.c'
     WHERE json_extract(o.payload, '$.at') > datetime('now', '-1 hour')
       AND c.payload ->> '$.seen' BETWEEN unixepoch() - 60 AND unixepoch()`,
    TOPICS,
  );
  assert.ok(a.exact, !a.exact ? a.reason : "");
  assert.deepEqual(a.plan.clock?.map((b) => `${b.topic}:${b.index?.path}:${b.expr}`), [
    "orders:$.at:datetime(:__lj_now, '-1 hour')",
    "customers:$.seen:unixepoch(:__lj_now) - 60",
    "customers:$.seen:unixepoch(:__lj_now)",
  ]);
  assert.deepEqual(
    [...new Set(a.plan.indexes.filter((i) => i.as === "json").map((i) => `${i.topic}:${i.path}`))]
      .sort(),
    ["customers:$.seen", "orders:$.at"],
  );
  assert.match(
    reason("SELECT key FROM orders WHERE payload ->> '$.at' > CAST(unixepoch() AS TEXT)"),
    /whose clock side is a CAST, which converts the payload field/,
  );
  assert.match(
    reason("SELECT key FROM orders WHERE payload -> '$.at' > unixepoch()"),
    /compares it with something other than a topic's timestamp or payload field/,
  );
});
