/**
 * The queries of the differential test (`differential_test.ts`) and the config that runs
 * them. Every join is declared twice, `mode: auto` (delta where the engine can) as
 * `<name>` and `mode: full` as `<name>_full`, each into its own table of one SQLite sink,
 * so that both can be compared with the SQL run directly over the final topics.
 */

/** A join of the test. */
export interface JoinSpec {
  name: string;
  /** The result column that identifies a row. */
  key: string;
  sql: string;
  /**
   * The mode the `auto` variant must run in. Unset: the mode is printed, not asserted.
   * Once a shape runs by delta, set `expectedMode: "delta"` on its entry.
   */
  expectedMode?: "delta" | "full";
}

/** A window of the test, with what tells its rows apart. */
export interface WindowSpec {
  name: string;
  type: "tumbling" | "sliding" | "session";
  /** The YAML fields beside name, type, time, sql and sinks. */
  fields: string;
  sql: string;
}

export const SHARDS = 3;
/** Rows of `orders` newer than this many seconds are `recent_*` (the clock bound). */
export const CLOCK_BOUND_S = 5;
/** Retention of `clicks`, whose rows expire during the test. */
export const CLICKS_RETENTION_MS = 5_000;
/** Window grace, in event time: far beyond the wall time one round takes. */
export const WINDOW_GRACE_MS = 300_000;
/** Tumbling window size and session gap, in event time. */
export const TUMBLE_MS = 10_000;
/** Sliding windows: this long, one starting every `SLIDE_MS` (event time). */
export const SLIDE_SIZE_MS = 10_000;
export const SLIDE_MS = 5_000;
export const SESSION_GAP_MS = 4_000;

const o = (field: string) => `json_extract(o.payload, '$.${field}')`;
const c = (field: string) => `json_extract(c.payload, '$.${field}')`;
const p = (field: string) => `json_extract(payload, '$.${field}')`;
const recent = (alias: string) =>
  `${alias}timestamp > (strftime('%s','now') - ${CLOCK_BOUND_S}) * 1000`;

export const JOINS: JoinSpec[] = [
  {
    name: "order_customer",
    expectedMode: "delta",
    key: "order_id",
    sql: `SELECT o.key AS order_id, ${o("amount")} AS amount, ${o("category")} AS category,
  ${c("name")} AS customer, ${c("region")} AS region
FROM orders o JOIN customers c ON c.key = ${o("customer_id")}`,
  },
  {
    name: "order_customer_left",
    expectedMode: "delta",
    key: "order_id",
    sql: `SELECT o.key AS order_id, ${o("price")} AS price, ${c("name")} AS customer,
  ${c("tier")} AS tier
FROM orders o LEFT JOIN customers c ON c.key = ${o("customer_id")}`,
  },
  {
    name: "category_stats",
    expectedMode: "delta",
    key: "category",
    sql: `SELECT ${p("category")} AS category, count(*) AS orders, sum(${p("amount")}) AS amount,
  avg(${p("price")}) AS avg_price, min(${p("amount")}) AS min_amount,
  max(${p("price")}) AS max_price, total(${p("qty")}) AS qty, sum(${p("qty")}) AS qty_sum,
  group_concat(key, ' ' ORDER BY key) AS ids
FROM orders GROUP BY 1 HAVING count(*) >= 2`,
  },
  {
    name: "region_revenue",
    expectedMode: "delta",
    key: "region",
    sql: `SELECT ${c("region")} AS region, count(*) AS orders, sum(${o("amount")}) AS amount,
  max(${o("amount")}) AS biggest, avg(${o("price")}) AS avg_price
FROM orders o JOIN customers c ON c.key = ${o("customer_id")} GROUP BY 1`,
  },
  {
    name: "customer_orders",
    expectedMode: "delta",
    key: "customer_id",
    sql: `SELECT c.key AS customer_id, ${c("name")} AS name, count(o.key) AS orders,
  sum(${o("amount")}) AS amount, min(${o("price")}) AS cheapest
FROM customers c LEFT JOIN orders o ON ${o("customer_id")} = c.key GROUP BY c.key`,
  },
  {
    name: "big_spenders",
    key: "customer_id",
    sql: `SELECT c.key AS customer_id, ${c("tier")} AS tier, t.orders, t.amount
FROM customers c JOIN (
  SELECT ${p("customer_id")} AS customer_id, count(*) AS orders, sum(${p("amount")}) AS amount
  FROM orders GROUP BY 1
) t ON t.customer_id = c.key
WHERE t.amount > 120`,
  },
  {
    name: "recent_orders",
    expectedMode: "delta",
    key: "order_id",
    sql: `SELECT o.key AS order_id, ${o("amount")} AS amount, ${c("name")} AS customer
FROM orders o JOIN customers c ON c.key = ${o("customer_id")}
WHERE ${recent("o.")}`,
  },
  {
    name: "recent_by_category",
    expectedMode: "delta",
    key: "category",
    sql: `SELECT ${p("category")} AS category, count(*) AS orders, sum(${p("amount")}) AS amount
FROM orders WHERE ${recent("")} GROUP BY 1`,
  },
  {
    name: "click_customer",
    expectedMode: "delta",
    key: "click_id",
    sql: `SELECT k.key AS click_id, json_extract(k.payload, '$.page') AS page, ${
      c("region")
    } AS region
FROM clicks k JOIN customers c ON c.key = json_extract(k.payload, '$.customer_id')`,
  },
  {
    name: "page_clicks",
    expectedMode: "delta",
    key: "page",
    sql: `SELECT ${p("page")} AS page, count(*) AS clicks, sum(${p("ms")}) AS ms
FROM clicks GROUP BY 1`,
  },
];

const at = p("at");

export const WINDOWS: WindowSpec[] = [
  {
    name: "reading_tumbling",
    type: "tumbling",
    fields: `size: ${TUMBLE_MS}ms`,
    sql: `SELECT count(*) AS readings, sum(${p("value")}) AS total, max(${p("value")}) AS peak
FROM readings WHERE ${at} >= :window_start AND ${at} < :window_end`,
  },
  {
    name: "reading_peak",
    type: "sliding",
    fields: `size: ${SLIDE_SIZE_MS}ms\n    slide: ${SLIDE_MS}ms`,
    sql: `SELECT key AS reading, ${p("sensor")} AS sensor, ${p("value")} AS value
FROM readings WHERE ${at} >= :window_start AND ${at} < :window_end
ORDER BY ${p("value")} DESC, key LIMIT 1`,
  },
  {
    name: "reading_sessions",
    type: "session",
    fields: `gap: ${SESSION_GAP_MS}ms\n    key: sensor`,
    sql: `SELECT count(*) AS readings, sum(${p("value")}) AS total,
  group_concat(key, ' ' ORDER BY key) AS ids
FROM readings WHERE ${p("sensor")} = :session_key
  AND ${at} >= :window_start AND ${at} < :window_end`,
  },
];

/** The name of a join's variant: `auto` keeps the name, `full` adds `_full`. */
export const variantName = (join: JoinSpec, mode: "auto" | "full") =>
  mode === "auto" ? join.name : `${join.name}_full`;

const block = (sql: string) => sql.split("\n").map((line) => `      ${line}`).join("\n");

/**
 * The engine's config: HTTP sources for inserts and updates, API sources polling the
 * test's model of `customers`, `orders` and `readings` (how keys are deleted: the HTTP
 * source has no delete), `clicks` expiring, every join twice, and the windows.
 */
export function differentialConfig(modelUrl: string): string {
  const api = (topic: string) =>
    `  - { name: ${topic}_api, type: api, url: "${modelUrl}/${topic}", topic: ${topic}, key: id, ` +
    `interval: 100ms, deletes: true, backoff: { initial: 100ms, max: 500ms } }`;
  const joins = JOINS.flatMap((join) =>
    (["auto", "full"] as const).map((mode) =>
      `  - name: ${variantName(join, mode)}
    key: ${join.key}
    mode: ${mode}
    sinks: [results]
    sql: |
${block(join.sql)}`
    )
  );
  const windows = WINDOWS.map((w) =>
    `  - name: ${w.name}
    type: ${w.type}
    ${w.fields}
    grace: ${WINDOW_GRACE_MS}ms
    time: at
    sinks: [results]
    sql: |
${block(w.sql)}`
  );
  return `http: { listen: "127.0.0.1:0" }
engine: { data_dir: ./data, shard_count: ${SHARDS}, retention_interval: 200ms }
topics:
  - { name: clicks, retention: ${CLICKS_RETENTION_MS}ms }
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
  - { name: clicks_in, type: http, path: /clicks, topic: clicks, key: id }
  - { name: readings_in, type: http, path: /readings, topic: readings, key: id }
${api("orders")}
${api("customers")}
${api("readings")}
joins:
${joins.join("\n")}
windows:
${windows.join("\n")}
sinks:
  - { name: results, type: sqlite, path: ./results.db }
`;
}
