import assert from "node:assert/strict";
import { singleStatement, splitStatements } from "./statements.ts";

Deno.test("splitStatements splits at semicolons outside quotes, brackets and comments", () => {
  assert.deepEqual(splitStatements("SELECT 1; SELECT 2;"), ["SELECT 1", "SELECT 2"]);
  assert.deepEqual(splitStatements("SELECT ';' AS a, \"x;y\", [p;q], `r;s` FROM t"), [
    "SELECT ';' AS a, \"x;y\", [p;q], `r;s` FROM t",
  ]);
  assert.deepEqual(splitStatements("SELECT 'it''s; fine'"), ["SELECT 'it''s; fine'"]);
  assert.deepEqual(splitStatements("SELECT 1 -- a; comment\n; /* b; */ ;"), [
    "SELECT 1 -- a; comment",
  ]);
  assert.deepEqual(splitStatements("  ;  -- only a comment\n ; "), []);
});

Deno.test("singleStatement accepts one statement with or without its semicolon, and refuses more or none", () => {
  assert.equal(singleStatement("SELECT 1;\n"), "SELECT 1");
  assert.equal(singleStatement("\n  SELECT\n  2  "), "SELECT\n  2");
  assert.throws(() => singleStatement("SELECT 1; DELETE FROM t"), {
    name: "RangeError",
    message: "one statement at a time: this text holds 2 (separated by ;)",
  });
  assert.throws(() => singleStatement(" -- nothing\n"), {
    message: "nothing to run: the query is empty",
  });
});
