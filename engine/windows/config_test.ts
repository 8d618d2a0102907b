import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../config/load.ts";

const BASE = `
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
  - { name: customers_in, type: http, path: /customers, topic: customers, key: id }
sinks:
  - { name: db, type: sqlite, path: ./results.db }
  - { name: late_db, type: sqlite, path: ./late.db }
`;

const problems = (windows: string): string[] => {
  try {
    parseConfig(BASE + windows, "litejoin.yaml");
  } catch (error) {
    if (error instanceof ConfigError) return error.lines;
    throw error;
  }
  assert.fail("expected a ConfigError");
};

Deno.test("window config reads each type with its defaults and the topic its SQL reads", () => {
  const config = parseConfig(
    BASE + `
windows:
  - name: revenue_5m
    type: tumbling
    size: 5m
    sql: SELECT count(*) AS n FROM orders WHERE timestamp >= :window_start AND timestamp < :window_end
    sinks: [db]
  - name: trend
    type: sliding
    size: 10m
    slide: 1m
    grace: 10s
    emit: update
    late: sink late_db
    sql: SELECT count(*) AS n FROM orders WHERE timestamp >= :window_start AND timestamp < :window_end
    sinks: [db]
  - name: visits
    type: session
    gap: 30m
    max_duration: 12h
    key: customer.id
    time: at
    topic: orders
    sql: |
      SELECT count(*) AS n, max(c.payload) AS who FROM orders o JOIN customers c
        ON c.key = json_extract(o.payload, '$.customer.id')
      WHERE json_extract(o.payload, '$.customer.id') = :session_key
        AND json_extract(o.payload, '$.at') >= :window_start
        AND json_extract(o.payload, '$.at') < :window_end
    sinks: [db]
`,
    "litejoin.yaml",
  );
  const [tumbling, sliding, session] = config.windows;
  assert.equal(tumbling.type === "tumbling" && tumbling.size, 300_000);
  assert.equal(tumbling.grace, 0);
  assert.equal(tumbling.emit, "close");
  assert.deepEqual(tumbling.late, {});
  assert.equal(sliding.type === "sliding" && sliding.slide, 60_000);
  assert.deepEqual(sliding.late, { sink: "late_db" });
  assert.equal(session.type === "session" && session.gap, 1_800_000);
  assert.equal(session.type === "session" && session.max_duration, 43_200_000);
  assert.equal(config.windowSql.get("revenue_5m")?.topic, "orders");
  assert.equal(config.windowSql.get("visits")?.topic, "orders");
  assert.deepEqual(config.windowSql.get("visits")?.parameters.sort(), [
    "session_key",
    "window_end",
    "window_start",
  ]);
});

Deno.test("window config reports each mistake with its position and a hint", () => {
  const lines = problems(`
windows:
  - name: a
    type: tumbling
    size: 0
    late: keep
    sql: SELECT count(*) AS n FROM orders
    sinks: [db]
`);
  assert.deepEqual(lines, [
    "litejoin.yaml:12:11: windows[0].size: must be a whole number of milliseconds, at least 1ms",
    'litejoin.yaml:13:11: windows[0].late: "keep" is not drop or sink NAME (write e.g. late: sink late_events)',
  ]);
  const second = problems(`
windows:
  - name: a
    type: tumbling
    size: 1m
    sql: SELECT count(*) AS n FROM orders
    sinks: [dbb]
  - name: b
    type: sliding
    size: 1m
    slide: 5m
    row_key: region
    late: sink nowhere
    sql: SELECT count(*) AS n FROM orders WHERE timestamp < :window_end AND key = :session_key
    sinks: [db]
  - name: c
    type: session
    gap: 1m
    key: user
    sql: SELECT count(*) AS n FROM orders o, customers c WHERE o.timestamp < :window_end
    sinks: [db]
  - name: d
    type: tumbling
    size: 1m
    topic: ordes
    sql: SELECT count(*) AS n FROM ordrs WHERE timestamp < :window_end
    sinks: [db]
  - name: a
    type: tumbling
    size: 1m
    sql: SELECT count(*) AS n FROM orders WHERE timestamp < :window_end
    sinks: [db]
`);
  assert.deepEqual(second, [
    "litejoin.yaml:13:10: windows[0].sql: uses neither :window_start nor :window_end, so every window would get the same result; filter with e.g. WHERE timestamp >= :window_start AND timestamp < :window_end",
    "litejoin.yaml:14:13: windows[0].sinks[0]: no sink named dbb (did you mean db?)",
    "litejoin.yaml:18:12: windows[1].slide: must be at most size (60000 ms), found 300000 ms",
    "litejoin.yaml:19:14: windows[1].row_key: region is not a result column (columns: n)",
    "litejoin.yaml:20:11: windows[1].late: no sink named nowhere (sinks: db, late_db)",
    "litejoin.yaml:21:10: windows[1].sql: has parameters :session_key, which windows do not bind (sliding windows bind :window_start, :window_end)",
    "litejoin.yaml:27:10: windows[2].sql: does not use :session_key, so a session would count other keys' events; add e.g. AND json_extract(payload, '$.user') = :session_key",
    "litejoin.yaml:27:10: windows[2].sql: reads orders and customers; set topic to the one whose messages open windows",
    "litejoin.yaml:32:12: windows[3].topic: no topic named ordes (did you mean orders?)",
    "litejoin.yaml:33:10: windows[3].sql: no such table: ordrs (topics: customers, orders); did you mean orders?",
    "litejoin.yaml:35:11: windows[4].name: a is already used by another item of windows",
  ]);
});

Deno.test("window config refuses a window named like a join, and one sink table fed twice", () => {
  const lines = problems(`
  - { name: one_table, type: sqlite, path: ./x.db, table: counts }
joins:
  - { name: same, key: id, sql: "SELECT key AS id FROM orders", sinks: [db] }
windows:
  - name: same
    type: tumbling
    size: 1m
    sql: SELECT count(*) AS n FROM orders WHERE timestamp < :window_end
    sinks: [one_table]
  - name: other
    type: tumbling
    size: 1m
    sql: SELECT count(*) AS n FROM orders WHERE timestamp < :window_end
    sinks: [one_table]
`);
  assert.ok(
    lines.some((l) => l.includes("windows[0].name: same is already the name of a join")),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) => l.includes("one table cannot hold the results of same and other")),
    lines.join("\n"),
  );
});
