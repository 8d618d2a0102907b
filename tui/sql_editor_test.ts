import assert from "node:assert/strict";
import { backspace, complete, emptyEditor, newer, older, submit, type } from "./sql_editor.ts";

Deno.test("a query runs once it ends with a semicolon, and pasted line breaks are kept", () => {
  assert.equal(complete("SELECT 1"), false);
  assert.equal(complete("SELECT 1;  \n"), true);
  const e = type(type(emptyEditor, "SELECT 1\r\nFROM t"), ";");
  assert.equal(e.draft, "SELECT 1\nFROM t;");
  assert.equal(backspace(e).draft, "SELECT 1\nFROM t");
});

Deno.test("history: up goes back, down comes forward and then to the draft being typed", () => {
  let e = emptyEditor;
  for (const q of ["SELECT 1;", "SELECT 2;", "SELECT 2;", "SELECT 3;"]) {
    const s = submit(type(e, q));
    assert.equal(s.sql, q);
    e = s.editor;
  }
  assert.deepEqual(e.history, ["SELECT 1;", "SELECT 2;", "SELECT 3;"], "a repeat is kept once");
  e = type(e, "SEL");
  e = older(e);
  assert.equal(e.draft, "SELECT 3;");
  e = older(older(older(e)));
  assert.equal(e.draft, "SELECT 1;", "stops at the oldest");
  e = newer(newer(e));
  assert.equal(e.draft, "SELECT 3;");
  e = newer(e);
  assert.equal(e.draft, "SEL", "past the newest: the draft again");
  assert.equal(newer(e).draft, "SEL");
});
