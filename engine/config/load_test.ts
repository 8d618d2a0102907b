import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "./load.ts";
import { parseDuration, parseListen, parseSize } from "../schema/units.ts";
import { sourceKinds } from "../sources/registry.ts";

const problems = (text: string, env: Record<string, string> = {}): string[] => {
  try {
    parseConfig(text, "litejoin.yaml", (n) => env[n]);
  } catch (error) {
    if (error instanceof ConfigError) return error.lines;
    throw error;
  }
  assert.fail("expected a ConfigError");
};

const BASE = `
sources:
  - name: orders_in
    type: http
    path: /ingest/orders
    topic: orders
    key: id
  - { name: customers_in, type: http, path: /ingest/customers, topic: customers, key: id }
joins:
  - name: enriched
    key: order_id
    sql: |
      SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS customer
      FROM orders o JOIN customers c ON c.key = json_extract(o.payload, '$.customer_id')
    sinks: [results]
sinks:
  - { name: results, type: sqlite, path: ./results.db }
`;

Deno.test("config fills defaults from the reference documents", () => {
  const config = parseConfig(BASE, "/etc/lj/litejoin.yaml");
  assert.equal(config.engine.shard_count, 4);
  assert.equal(config.engine.flush_interval, 10);
  assert.equal(config.engine.batch_size, 1000);
  assert.equal(config.engine.readers_per_shard, 4);
  assert.equal(config.engine.retention, 24 * 3600 * 1000);
  assert.equal(config.engine.data_dir, "/etc/lj/data");
  assert.deepEqual(config.http.listen, { hostname: "127.0.0.1", port: 8080 });
  assert.deepEqual(config.topicNames, ["customers", "orders"]);
  assert.deepEqual(config.joinSql.get("enriched")?.topics, ["orders", "customers"]);
  const sink = config.sinks[0];
  assert.equal(sink.type === "sqlite" && sink.retries, 3);
});

Deno.test("config reports every problem at once, each with file, line, column and path", () => {
  const lines = problems(`
engine:
  shard_count: 40
  flush_intervl: 10ms
  retention: soon
sources:
  - name: orders_in
    type: htp
    path: /x
`);
  assert.deepEqual(lines, [
    "litejoin.yaml:3:16: engine.shard_count: must be at most 10, found 40",
    'litejoin.yaml:4:3: engine.flush_intervl: unknown field (did you mean "flush_interval"?)',
    'litejoin.yaml:5:14: engine.retention: "soon" is not a duration (write e.g. 250ms, 10s, 5m, 24h, 7d)',
    `litejoin.yaml:8:11: sources[0].type: "htp" is not one of ${
      Object.keys(sourceKinds).join(", ")
    } (did you mean "http"?)`,
  ]);
});

Deno.test("config reports a missing required field at its parent", () => {
  const lines = problems(`
sources:
  - name: orders_in
    type: http
    path: /x
    key: id
`);
  assert.deepEqual(lines, ["litejoin.yaml:3:5: sources[0].topic: is required (string)"]);
});

Deno.test("config reports YAML syntax errors with their position", () => {
  const lines = problems("engine:\n  shard_count: [1,\nsources: 2\n");
  assert.equal(lines.length >= 1, true);
  assert.match(lines[0], /^litejoin\.yaml:3:1: yaml: /);
});

Deno.test("a YAML syntax error is one line: the first problem, without the cascade after it", () => {
  const text = "engine:\n  data_dir: ./data\n   shard_count: 2\nsources: [\n";
  assert.deepEqual(problems(text), [
    "litejoin.yaml:2:13: yaml: Nested mappings are not allowed in compact mappings",
  ]);
});

Deno.test("an unquoted ${VAR} inside { } or [ ] is a YAML error that says to quote it", () => {
  const hint = (v: string, inside: string) =>
    `${v} inside ${inside} must be quoted, or YAML reads its { as the start of a mapping: write "${v}"`;
  assert.deepEqual(problems("engine: { data_dir: ${DATA} }\nsources: []\n", { DATA: "/d" }), [
    `litejoin.yaml:1:21: yaml: ${hint("${DATA}", "{ }")}`,
  ]);
  assert.deepEqual(
    problems("engine: { shard_count: 2, data_dir: ${DATA:-./data} }\n"),
    [`litejoin.yaml:1:37: yaml: ${hint("${DATA:-./data}", "{ }")}`],
  );
  assert.deepEqual(problems('http: { cors: { origins: ["a", ${ORIGIN}] } }\n'), [
    `litejoin.yaml:1:32: yaml: ${hint("${ORIGIN}", "[ ]")}`,
  ]);
  // Quoted, it reads; and in block style it needs no quotes.
  const quoted = parseConfig(
    'engine: { data_dir: "${DATA}" }\n',
    "/etc/lj/litejoin.yaml",
    (n) => n === "DATA" ? "/var/d" : undefined,
  );
  assert.equal(quoted.engine.data_dir, "/var/d");
  const block = parseConfig(
    "engine:\n  data_dir: ${DATA}\n",
    "/etc/lj/litejoin.yaml",
    (n) => n === "DATA" ? "/var/d" : undefined,
  );
  assert.equal(block.engine.data_dir, "/var/d");
});

Deno.test("config interpolates ${ENV}, with defaults, and names a missing variable", () => {
  const text = `
http: { listen: "127.0.0.1:\${PORT}" }
sources:
  - { name: a, type: http, path: /a, topic: a, key: id, auth_token: "\${TOKEN}" }
  - { name: b, type: http, path: /b, topic: b, key: id, auth_token: "\${OTHER:-fallback}" }
`;
  const config = parseConfig(
    text,
    "x.yaml",
    (n) => ({ PORT: "9999", TOKEN: "s3cret" } as Record<string, string>)[n],
  );
  assert.equal(config.http.listen.port, 9999);
  const [a, b] = config.sources;
  assert.equal(a.type === "http" && a.auth_token, "s3cret");
  assert.equal(b.type === "http" && b.auth_token, "fallback");
  const lines = problems(text, { PORT: "1" });
  assert.deepEqual(lines, [
    "litejoin.yaml:4:69: sources[0].auth_token: environment variable TOKEN is not set (export it, or write ${TOKEN:-default})",
  ]);
});

Deno.test("config checks join SQL against the declared topics", () => {
  assert.deepEqual(problems(BASE.replace("FROM orders o", "FROM ordrs o")), [
    "litejoin.yaml:12:10: joins[0].sql: no such table: ordrs (topics: customers, orders); did you mean orders?",
  ]);
  assert.deepEqual(problems(BASE.replace("key: order_id", "key: id")), [
    "litejoin.yaml:11:10: joins[0].key: id is not a result column (columns: order_id, customer)",
  ]);
});

Deno.test("config refuses join SQL that writes, and unknown sink references", () => {
  const lines = problems(
    BASE.replace(
      /sql: \|[\s\S]*?sinks: \[results\]/,
      "sql: DELETE FROM orders\n    sinks: [reslts]",
    ),
  );
  assert.deepEqual(lines, [
    "litejoin.yaml:12:10: joins[0].sql: only a read-only SELECT is allowed here",
    "litejoin.yaml:13:13: joins[0].sinks[0]: no sink named reslts (did you mean results?)",
  ]);
});

Deno.test("config refuses topic names that are not plain identifiers or are SQL keywords", () => {
  const lines = problems(`
topics:
  - name: Orders
  - name: order
`);
  assert.deepEqual(lines, [
    "litejoin.yaml:3:11: topics[0].name: must be lower-case letters, digits and _ (not starting with a digit), at most 63 characters",
    "litejoin.yaml:4:11: topics[1].name: is an SQL keyword, so queries could not name it unquoted; choose another name",
  ]);
});

Deno.test("config refuses two sources on one HTTP path and duplicate names", () => {
  const lines = problems(`
sources:
  - { name: a, type: http, path: /in, topic: a, key: id }
  - { name: a, type: http, path: /in, topic: b, key: id }
`);
  assert.deepEqual(lines, [
    "litejoin.yaml:4:13: sources[1].name: a is already used by another item of sources",
    "litejoin.yaml:4:34: sources[1].path: /in is already served by source a",
  ]);
});

Deno.test("durations, sizes and addresses parse, and bad ones say how to write them", () => {
  assert.equal(parseDuration("10ms"), 10);
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("7d"), 604_800_000);
  assert.deepEqual(parseDuration("10"), {
    error: '"10" is not a duration (write e.g. 250ms, 10s, 5m, 24h, 7d)',
  });
  assert.equal(parseSize("1MiB"), 1048576);
  assert.equal(parseSize("512KiB"), 524288);
  assert.equal(parseSize("10MB"), 10_000_000);
  assert.equal(parseSize("2048"), 2048);
  assert.ok("error" in (parseSize("lots") as object));
  assert.deepEqual(parseListen(":8080"), { hostname: "0.0.0.0", port: 8080 });
  assert.deepEqual(parseListen("[::1]:9"), { hostname: "::1", port: 9 });
  assert.ok("error" in (parseListen("localhost") as object));
});

Deno.test("topics written by an API source keep their rows unless a topic retention is set", async () => {
  const { topicRetention } = await import("../store/retention.ts");
  const config = parseConfig(
    `
engine: { retention: 1h }
topics: [{ name: pinned, retention: 5m }]
sources:
  - { name: users_api, type: api, url: "http://127.0.0.1:1/users", topic: users, key: id }
  - { name: pinned_api, type: api, url: "http://127.0.0.1:1/p", topic: pinned, key: id }
  - { name: events_in, type: http, path: /e, topic: events, key: id }
`,
    "x.yaml",
  );
  assert.equal(topicRetention(config, "users"), 0);
  assert.equal(topicRetention(config, "pinned"), 300_000);
  assert.equal(topicRetention(config, "events"), 3_600_000);
});

Deno.test("on_eviction: keep is refused where the join runs in full, with the reason", () => {
  const keep = BASE.replace(
    "    sinks: [results]\n",
    "    on_eviction: keep\n    sinks: [results]\n",
  );
  parseConfig(keep, "litejoin.yaml", () => undefined);
  assert.deepEqual(
    problems(keep.replace("on_eviction: keep", "on_eviction: keep\n    mode: full")),
    [
      "litejoin.yaml:15:18: joins[0].on_eviction: on_eviction: keep needs delta evaluation (a full " +
      "evaluation cannot tell an evicted row from a deleted one); remove on_eviction: keep or mode: full",
    ],
  );
  const ranked = keep.replace(
    "SELECT o.key AS order_id, json_extract(c.payload, '$.name') AS customer",
    "SELECT o.key AS order_id, row_number() OVER (ORDER BY o.timestamp) AS customer",
  );
  assert.match(
    problems(ranked).join("\n"),
    /joins\[0\]\.on_eviction: on_eviction: keep needs delta evaluation, and this join runs in full mode \(it uses window functions/,
  );
  assert.deepEqual(problems(keep.replace("on_eviction: keep", "on_eviction: never")).length, 1);
});
