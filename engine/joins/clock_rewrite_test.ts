import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { bindClock, timeValue } from "./clock_rewrite.ts";

Deno.test("every read of the clock becomes the now parameter, and nothing else changes", () => {
  const cases: [string, string][] = [
    [
      "SELECT key FROM orders WHERE timestamp > (strftime('%s', 'now') - 3600) * 1000",
      "SELECT key FROM orders WHERE timestamp > (strftime('%s', :__lj_now) - 3600) * 1000",
    ],
    [
      "SELECT unixepoch() AS a, date() AS b, strftime('%s') AS c, julianday('NOW') AS d FROM orders",
      "SELECT unixepoch(:__lj_now) AS a, date(:__lj_now) AS b, strftime('%s', :__lj_now) AS c, " +
      "julianday(:__lj_now) AS d FROM orders",
    ],
    [
      "SELECT CURRENT_TIMESTAMP AS t, current_date AS d, datetime('now', '-1 hour') AS h FROM orders",
      "SELECT datetime(:__lj_now) AS t, date(:__lj_now) AS d, datetime(:__lj_now, '-1 hour') AS h FROM orders",
    ],
    // Not clock reads: a date of the row, a string 'now' compared, a column named like a function.
    [
      "SELECT date(timestamp / 1000, 'unixepoch') AS d FROM orders WHERE payload ->> '$.s' = 'now'",
      "SELECT date(timestamp / 1000, 'unixepoch') AS d FROM orders WHERE payload ->> '$.s' = 'now'",
    ],
  ];
  for (const [sql, expected] of cases) assert.equal(bindClock(sql).sql, expected);
  assert.equal(bindClock(cases[3][0]).reads, false);
});

Deno.test("the now parameter gives what SQLite's 'now' gives at that moment", () => {
  const db = new DatabaseSync(":memory:");
  const ms = Date.UTC(2026, 11, 7, 18, 4, 24, 123);
  const at = db.prepare(
    "SELECT strftime('%s', :__lj_now) AS s, unixepoch(:__lj_now, 'subsec') AS ss, datetime(:__lj_now) AS d",
  ).get({ __lj_now: timeValue(ms) });
  db.close();
  assert.deepEqual({ ...at }, { s: "1796666664", ss: 1796666664.123, d: "2026-12-07 18:04:24" });
});
