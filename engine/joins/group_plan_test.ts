import assert from "node:assert/strict";
import { analyzeDelta } from "./delta_plan.ts";
import { modeOf } from "./mode.ts";

const TOPICS = ["auctions", "bids", "persons"];
const JOIN = "FROM bids b JOIN auctions a ON a.key = json_extract(b.payload, '$.auction')";

const groupTerm = (sql: string, key: string) => {
  const analysis = analyzeDelta(sql, TOPICS, key);
  assert.ok(
    analysis.exact,
    `expected ${sql} to run by group: ${!analysis.exact && analysis.reason}`,
  );
  assert.ok(analysis.plan.group, "a plan for a GROUP BY join has its group");
  return analysis.plan.group.term;
};

const reason = (sql: string, key: string) => {
  const analysis = analyzeDelta(sql, TOPICS, key);
  assert.ok(!analysis.exact, `expected ${sql} to run in full`);
  return analysis.reason;
};

Deno.test("a GROUP BY keyed on a grouped topic column or payload field runs by group", () => {
  const category = "json_extract(a.payload, '$.category')";
  assert.equal(
    groupTerm(`SELECT ${category} AS c, count(*) AS n ${JOIN} GROUP BY 1`, "c"),
    category,
  );
  assert.equal(
    groupTerm(`SELECT ${category} AS c, count(*) AS n ${JOIN} GROUP BY c`, "c"),
    category,
  );
  assert.equal(
    groupTerm(
      `SELECT ${category} c, max(b.key) AS m ${JOIN} GROUP BY ${category} HAVING m > 1`,
      "c",
    ),
    category,
  );
  assert.equal(groupTerm(`SELECT a.key AS k, count(*) AS n ${JOIN} GROUP BY a.key`, "k"), "a.key");
  assert.equal(
    groupTerm(
      "SELECT CAST(json_extract(payload, '$.seller') AS TEXT) AS s, count(*) AS n FROM auctions GROUP BY 1",
      "s",
    ),
    "CAST(json_extract(payload, '$.seller') AS TEXT)",
  );
  // A grouped subquery joined to a topic, grouped by the topic's field or the subquery's column.
  const best = `SELECT json_extract(payload, '$.auction') AS auction, max(key) AS best
                FROM bids GROUP BY 1`;
  assert.equal(
    groupTerm(
      `SELECT ${category} AS c, avg(w.best) AS avg FROM (${best}) w
       JOIN auctions a ON a.key = w.auction GROUP BY 1`,
      "c",
    ),
    category,
  );
  assert.equal(
    groupTerm(
      `SELECT w.auction, max(w.best) AS best FROM (${best}) w
       LEFT JOIN auctions a ON a.key = w.auction GROUP BY w.auction`,
      "auction",
    ),
    "json_extract(payload, '$.auction')",
  );
  // A bound on the clock in WHERE: the rows that cross it are changes of their groups.
  const recent = analyzeDelta(
    `SELECT ${category} AS c, count(*) AS n ${JOIN}
     WHERE b.timestamp > (unixepoch('now') - 3600) * 1000 GROUP BY 1`,
    TOPICS,
    "c",
  );
  assert.ok(recent.exact && recent.plan.group && recent.plan.clock?.length === 1);
  // Nexmark q4's shape: a GROUP BY over one grouped subquery, keyed on one of its group terms.
  assert.equal(
    groupTerm(
      `SELECT q.category, avg(q.final) AS avg FROM (SELECT max(b.key) AS final, ${category} AS category
       ${JOIN} GROUP BY a.key, ${category}) q GROUP BY q.category ORDER BY 2`,
      "category",
    ),
    category,
  );
});

Deno.test("a GROUP BY that cannot run by group runs in full, and the reason says what to change", () => {
  const category = "json_extract(a.payload, '$.category')";
  assert.match(
    reason(`SELECT ${category} AS c, count(*) AS n ${JOIN} GROUP BY 1`, "n"),
    /the key column n \(count\(\*\)\) is not a GROUP BY term; key the join on a grouped column$/,
  );
  assert.match(
    reason(`SELECT upper(${category}) AS c, count(*) AS n ${JOIN} GROUP BY 1`, "c"),
    /the key column c \(upper\(.*\)\) is not a topic column or payload field/,
  );
  assert.match(
    reason("SELECT count(*) AS n FROM bids", "n"),
    /^it aggregates \(Count\), without GROUP BY: one result over all rows/,
  );
  assert.match(
    reason(`SELECT ${category} AS c, count(*) AS n ${JOIN} GROUP BY 1`, "x"),
    /x is not a result column/,
  );
  assert.match(
    reason(`SELECT ${category} AS c, count(*) AS n ${JOIN} GROUP BY 1 LIMIT 5`, "c"),
    /LIMIT/,
  );
  assert.match(
    reason(`SELECT ${category} AS c, rank() OVER (ORDER BY count(*)) AS r ${JOIN} GROUP BY 1`, "c"),
    /window functions/,
  );
  assert.match(
    reason(
      `SELECT ${category} AS c, count(*) AS n ${JOIN} GROUP BY 1
       HAVING c IN (SELECT json_extract(payload, '$.category') FROM persons)`,
      "c",
    ),
    /reads persons outside the FROM clause/,
  );
  const bestPerAuction = `SELECT json_extract(payload, '$.auction') AS auction, max(key) AS m
       FROM bids GROUP BY 1`;
  assert.match(
    reason(
      `SELECT a.key AS k, avg(w.m) AS avg FROM auctions a JOIN (${bestPerAuction}) w
       ON a.key = w.auction GROUP BY a.key`,
      "k",
    ),
    /joins a subquery in FROM after a topic; put the grouped subquery first in FROM/,
  );
  assert.match(
    reason(
      `SELECT a.key AS k, count(*) AS n FROM (${bestPerAuction}) w JOIN auctions a ON a.key = w.m
       GROUP BY a.key`,
      "k",
    ),
    /an ON clause reads w\.m, which must be a group term of the subquery \(the key column m/,
  );
  assert.match(
    reason(
      `SELECT a.key AS k, count(*) AS n FROM (${bestPerAuction}) w, auctions a
       WHERE a.key = w.auction GROUP BY a.key`,
      "k",
    ),
    /joins a to its subquery without ON; write JOIN auctions a ON …/,
  );
  assert.match(
    reason(
      `SELECT ${category} AS c, count(*) AS n ${JOIN}
       GROUP BY 1 HAVING max(b.timestamp) > (unixepoch('now') - 3600) * 1000`,
      "c",
    ),
    /reads the clock outside its WHERE and ON clauses/,
  );
  assert.match(
    reason("SELECT b._seq AS s, count(*) AS n FROM bids b GROUP BY 1", "s"),
    /its key column is _seq, which no index answers/,
  );
  assert.match(
    reason(
      `SELECT ${category} AS c, count(*) AS n ${JOIN} GROUP BY 1`,
      undefined as unknown as string,
    ),
    /no result key was given/,
  );
});

Deno.test("the startup log and validate say that a GROUP BY join recomputes the groups a batch touches", () => {
  const sql =
    "SELECT json_extract(payload, '$.auction') AS auction, max(key) AS best FROM bids GROUP BY 1";
  assert.deepEqual(modeOf({ mode: "auto" }, analyzeDelta(sql, TOPICS, "auction")), {
    mode: "delta",
    reason:
      "recomputes only the groups a batch touches (GROUP BY json_extract(payload, '$.auction'))",
  });
  assert.equal(modeOf({ mode: "auto" }, analyzeDelta(sql, TOPICS, "best")).mode, "full");
});
