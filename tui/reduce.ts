/**
 * How keys and replies change the console's state: one pure reducer. Keys can arrive
 * several per stdin chunk and are applied one after the other before React renders, so
 * no handler may read state from a render. Requests to the engine leave as `Effect`s;
 * their answers come back as events.
 */
import { type Context, type Event, type Key, type Step, type UiState, VIEWS } from "./state.ts";
import { onDlqKey, onSqlKey, onTailKey, printable, switchTo } from "./reduce_views.ts";

export function reduce(s: UiState, event: Event, ctx: Context): Step {
  switch (event.type) {
    case "key":
      return onKey(s, event.key, ctx);
    case "sql.result":
      if (event.id !== s.sql.running) return [s, []];
      return [{
        ...s,
        sql: { ...s.sql, running: null, result: event.result, error: "", top: 0, left: 0 },
      }, []];
    case "sql.error":
      if (event.id !== s.sql.running) return [s, []];
      return [{ ...s, sql: { ...s.sql, running: null, result: null, error: event.message } }, []];
    case "tail.data":
      if (event.data.topic !== s.tail.topic || s.tail.paused) return [s, []];
      return [{ ...s, tail: { ...s.tail, data: event.data, error: "" } }, []];
    case "tail.error":
      if (event.topic !== s.tail.topic) return [s, []];
      return [{ ...s, tail: { ...s.tail, error: event.message } }, []];
    case "dlq.entries":
      return [{ ...s, dlq: { ...s.dlq, entries: event.entries, loaded: true, error: "" } }, []];
    case "dlq.error":
      return [{ ...s, dlq: { ...s.dlq, error: event.message } }, []];
    case "message":
      return [{ ...s, message: event.text }, []];
  }
}

function onKey(s: UiState, k: Key, ctx: Context): Step {
  // Keys typed quickly, or pasted, can come as one chunk ("2SELECT 1;\r"): apply them one
  // by one, since the first may change what the rest mean. A line break is an Enter.
  if (k.input.length > 1 && !k.ctrl && !k.meta && !k.escape) {
    let step: Step = [s, []];
    for (const ch of k.input.replace(/\r\n/g, "\r")) {
      const key: Key = ch === "\r" || ch === "\n" ? { input: "\r", return: true } : { input: ch };
      const [next, effects] = onKey(step[0], key, ctx);
      step = [next, [...step[1], ...effects]];
    }
    return step;
  }
  if (k.ctrl && k.input === "c") {
    if (s.view === "sql" && s.sql.running) {
      return [{ ...s, message: "cancelling the query…" }, [{
        type: "sql.cancel",
        id: s.sql.running,
      }]];
    }
    return [{ ...s, quit: true }, [{ type: "quit" }]];
  }
  if (s.help) return [{ ...s, help: false }, []];
  if (s.confirm) {
    if (k.input === "y" || k.input === "Y") {
      return [{ ...s, confirm: null, message: "working…" }, [s.confirm.effect]];
    }
    return [{ ...s, confirm: null, message: "cancelled" }, []];
  }
  if (s.filterDraft !== null) return onFilterKey(s, k);
  if (k.tab) {
    const step = k.shift ? VIEWS.length - 1 : 1;
    return switchTo(s, VIEWS[(VIEWS.indexOf(s.view) + step) % VIEWS.length]);
  }
  if (s.view === "sql") return onSqlKey(s, k, ctx);
  if (k.input === "q") return [{ ...s, quit: true }, [{ type: "quit" }]];
  if (k.input === "?") return [{ ...s, help: true }, []];
  if (/^[1-4]$/.test(k.input)) return switchTo(s, VIEWS[Number(k.input) - 1]);
  if (k.input === "/") return [{ ...s, filterDraft: s.filters[s.view], message: "" }, []];
  if (s.view === "tail") return onTailKey(s, k, ctx);
  if (s.view === "dlq") return onDlqKey(s, k, ctx);
  if (k.escape) return [{ ...s, filters: { ...s.filters, [s.view]: "" }, message: "" }, []];
  return [s, []];
}

function onFilterKey(s: UiState, k: Key): Step {
  const draft = s.filterDraft!;
  if (k.return) {
    return [{ ...s, filters: { ...s.filters, [s.view]: draft }, filterDraft: null }, []];
  }
  if (k.escape) return [{ ...s, filterDraft: null }, []];
  if (k.backspace || k.delete) return [{ ...s, filterDraft: draft.slice(0, -1) }, []];
  if (printable(k) && !k.upArrow && !k.downArrow) {
    return [{ ...s, filterDraft: draft + k.input.replace(/[\r\n]/g, "") }, []];
  }
  return [s, []];
}
