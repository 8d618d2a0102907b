import assert from "node:assert/strict";
import {
  type Context,
  type Effect,
  type Event,
  initialState,
  type Key,
  type UiState,
} from "./state.ts";
import { reduce } from "./reduce.ts";

const ctx: Context = { topics: ["customers", "orders"], dlqEnabled: true, tableRows: 10 };

function keys(s: UiState, ...presses: (string | Partial<Key>)[]): [UiState, Effect[]] {
  const effects: Effect[] = [];
  for (const p of presses) {
    const key: Key = typeof p === "string" ? { input: p } : { input: "", ...p };
    const [next, more] = reduce(s, { type: "key", key } as Event, ctx);
    s = next;
    effects.push(...more);
  }
  return [s, effects];
}

Deno.test("number keys and Tab switch views; q quits outside the SQL prompt only", () => {
  let [s] = keys(initialState, "2");
  assert.equal(s.view, "sql");
  [s] = keys(s, "q", "1");
  assert.equal(s.view, "sql");
  assert.equal(s.sql.editor.draft, "q1");
  [s] = keys(s, { tab: true }, { tab: true, shift: true });
  assert.equal(s.view, "sql");
  const [quit, effects] = keys({ ...s, view: "tail" }, "q");
  assert.equal(quit.quit, true);
  assert.deepEqual(effects, [{ type: "quit" }]);
});

Deno.test("a pasted query with its final line break runs, once", () => {
  const [s, effects] = keys({ ...initialState, view: "sql" }, "SELECT 1\rFROM t;\r");
  assert.deepEqual(effects, [{ type: "sql.run", id: "console-1", sql: "SELECT 1\nFROM t;" }]);
  assert.equal(s.sql.running, "console-1");
  assert.equal(s.sql.editor.draft, "");
});

Deno.test("replies to an old query are ignored; the current one's result resets the scroll", () => {
  let [s] = keys({ ...initialState, view: "sql" }, "SELECT 1;", { return: true, input: "\r" });
  const result = {
    columns: ["a"],
    rows: [[1]],
    truncated: false,
    ms: 1,
    row_limit: 10,
    time_limit_ms: 1,
  };
  [s] = reduce(s, { type: "sql.result", id: "console-0", result }, ctx);
  assert.equal(s.sql.result, null);
  [s] = reduce(
    { ...s, sql: { ...s.sql, top: 5 } },
    { type: "sql.result", id: "console-1", result },
    ctx,
  );
  assert.deepEqual([s.sql.result, s.sql.top, s.sql.running], [result, 0, null]);
});

Deno.test("destructive DLQ actions wait for y; anything else cancels them", () => {
  const entries = [1, 2].map((id) => ({
    id,
    sink: "hook",
    source: "j",
    key: `k${id}`,
    payload: {},
    error: "e",
    attempts: 1,
    first_failed_at: 0,
    last_failed_at: 0,
    next_attempt_at: null,
    status: "dead",
  }));
  const base: UiState = {
    ...initialState,
    view: "dlq",
    dlq: { ...initialState.dlq, entries, loaded: true },
  };
  let [s, effects] = keys(base, { downArrow: true }, "x");
  assert.equal(s.confirm?.prompt, "Purge entry 2 (of sink hook)? It cannot be undone.");
  assert.deepEqual(effects, []);
  [s, effects] = keys(s, "q");
  assert.deepEqual([s.confirm, s.quit, effects, s.message], [null, false, [], "cancelled"]);
  [s, effects] = keys(s, "R", "y");
  assert.deepEqual(effects, [{ type: "dlq.replay", params: { sink: "hook" } }]);
});

Deno.test("/ filters the view it is typed in, and selection stays within what is shown", () => {
  let [s] = keys({ ...initialState, view: "tail" }, "/", "ord", { return: true });
  assert.equal(s.filters.tail, "ord");
  assert.equal(s.filters.dashboard, "");
  let effects: Effect[];
  [s, effects] = keys(s, { downArrow: true }, { downArrow: true }, { return: true });
  assert.equal(s.tail.topic, "orders");
  assert.deepEqual(effects, [{ type: "tail.fetch" }]);
});

Deno.test("keys that arrive in one chunk apply one by one: a view switch, then text", () => {
  const [s, effects] = keys(initialState, "2SELECT 1;\r");
  assert.equal(s.view, "sql");
  assert.deepEqual(effects, [{ type: "sql.run", id: "console-1", sql: "SELECT 1;" }]);
  const [filtered] = keys(initialState, "/ord\r");
  assert.deepEqual([filtered.filters.dashboard, filtered.filterDraft], ["ord", null]);
});
