import assert from "node:assert/strict";
import { parseShape, ShapeProblem } from "./shape.ts";
import { tokenize } from "./sql_tokens.ts";

const TOPICS = ["orders", "customers", "items"];

Deno.test("tokenizer keeps strings, quoted names and comments apart from keywords", () => {
  const tokens = tokenize(
    `SELECT 'a FROM b' AS "from", [x y] -- FROM c\n FROM orders /* WHERE */ o`,
  );
  assert.deepEqual(tokens.map((t) => `${t.kind}:${t.value}`), [
    "word:select",
    "string:a FROM b",
    "word:as",
    "quoted:from",
    "op:,",
    "quoted:x y",
    "word:from",
    "word:orders",
    "word:o",
  ]);
  assert.throws(() => tokenize("SELECT 'open"), SyntaxError);
});

Deno.test("shape finds each topic occurrence, its alias and how it joins", () => {
  const sql = `SELECT o.key AS id FROM orders o
    LEFT OUTER JOIN customers AS c ON c.key = json_extract(o.payload, '$.customer_id')
    JOIN items ON items.key = o.payload ->> '$.item' ORDER BY o.key;`;
  const shape = parseShape(sql, TOPICS);
  assert.deepEqual(
    shape.occurrences.map((o) => [o.topic, o.alias, o.hasAlias, o.join]),
    [["orders", "o", true, "from"], ["customers", "c", true, "left"], [
      "items",
      "items",
      false,
      "inner",
    ]],
  );
  const left = shape.occurrences[1].joinSpan!;
  assert.equal(sql.slice(left.start, left.end), "LEFT OUTER JOIN");
  assert.equal(sql.slice(shape.orderBy!.start, shape.orderBy!.end), "ORDER BY o.key");
  assert.equal(sql.slice(shape.fromAt, shape.fromAt + 4), "FROM");
  assert.deepEqual(shape.equalities, [
    { place: 1, left: { occ: 1, column: "key" }, right: { occ: 0, path: "$.customer_id" } },
    { place: 2, left: { occ: 2, column: "key" }, right: { occ: 0, path: "$.item" } },
  ]);
});

Deno.test("shape splits WHERE into conjuncts, not inside BETWEEN, CASE or parentheses", () => {
  const shape = parseShape(
    `SELECT a.key FROM orders a, orders b
     WHERE (json_extract(b.payload, '$.parent') = a.key)
       AND a.timestamp BETWEEN b.timestamp AND b.timestamp + 10
       AND CASE WHEN a.key = b.key AND 1 THEN 1 END
       AND (a.key = b.key OR a.timestamp = b.timestamp)`,
    TOPICS,
  );
  assert.deepEqual(shape.equalities, [
    { place: "where", left: { occ: 1, path: "$.parent" }, right: { occ: 0, column: "key" } },
  ]);
  assert.equal(shape.occurrences[1].join, "inner");
  // Everything else mentions both sides but is not an equality the rewrite can use.
  assert.ok(shape.mentions.length >= 3);
});

Deno.test("shape names what it cannot rewrite", () => {
  const problem = (sql: string) => {
    try {
      parseShape(sql, TOPICS);
    } catch (error) {
      assert.ok(error instanceof ShapeProblem);
      return error.message;
    }
    assert.fail(`no problem found in ${sql}`);
  };
  assert.match(problem("WITH x AS (SELECT 1) SELECT key FROM orders"), /WITH/);
  assert.match(problem("SELECT DISTINCT key FROM orders"), /DISTINCT/);
  assert.match(problem("SELECT key FROM orders GROUP BY key"), /GROUP BY/);
  assert.match(problem("SELECT key FROM orders LIMIT 3"), /LIMIT/);
  assert.match(problem("SELECT key FROM orders UNION SELECT key FROM items"), /compound/);
  assert.match(problem("SELECT o.key FROM orders o RIGHT JOIN items i ON 1"), /RIGHT JOIN/);
  assert.match(problem("SELECT o.key FROM orders o JOIN items i USING (key)"), /USING/);
  assert.match(problem("SELECT o.key FROM orders o NATURAL JOIN items i"), /NATURAL/);
  assert.match(problem("SELECT key FROM main.orders"), /schema/);
  assert.match(
    problem("SELECT o.key FROM json_each('[1]') j LEFT JOIN orders o ON o.key = j.value"),
    /starts with a subquery or function/,
  );
});

Deno.test("shape reads a payload field of the only topic without a qualifier", () => {
  const shape = parseShape(
    "SELECT key FROM orders WHERE json_extract(payload, '$.a') = json_extract(payload, '$.b')",
    TOPICS,
  );
  // Both sides are the same occurrence: a filter, not a join equality.
  assert.deepEqual(shape.equalities, []);
  assert.equal(shape.occurrences.length, 1);
});
