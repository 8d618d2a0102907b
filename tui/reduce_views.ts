/** What keys do in the SQL, Tail and DLQ views. */
import * as editor from "./sql_editor.ts";
import {
  type Context,
  type DlqStatusFilter,
  type Effect,
  type Key,
  type Step,
  type UiState,
  type View,
  visibleEntries,
  visibleMessages,
  visibleTopics,
} from "./state.ts";

const DLQ_STATUSES: DlqStatusFilter[] = ["", "retrying", "dead", "delivered", "rejected"];

export const clamp = (n: number, max: number) => Math.max(0, Math.min(n, Math.max(0, max)));
export const printable = (k: Key) =>
  k.input.length > 0 && !k.ctrl && !k.meta && !k.escape && !k.tab;

export function switchTo(s: UiState, view: View): Step {
  const next = { ...s, view, message: "" };
  if (view === "tail" && s.tail.topic) return [next, [{ type: "tail.fetch" }]];
  if (view === "dlq") return [next, [{ type: "dlq.fetch" }]];
  return [next, []];
}

export function onSqlKey(s: UiState, k: Key, ctx: Context): Step {
  const sql = s.sql;
  const set = (patch: Partial<UiState["sql"]>): Step => [{ ...s, sql: { ...sql, ...patch } }, []];
  const lastTop = Math.max(0, (sql.result?.rows.length ?? 0) - ctx.tableRows);
  const run = () => {
    const { editor: emptied, sql: text } = editor.submit(sql.editor);
    if (!text || text === ";") return set({ editor: emptied });
    if (sql.running) {
      return [{ ...s, message: "a query is running: Ctrl+C cancels it" }, []] as Step;
    }
    const id = `console-${sql.nextId}`;
    return [{
      ...s,
      message: "",
      sql: {
        ...sql,
        editor: emptied,
        nextId: sql.nextId + 1,
        running: id,
        runningSql: text,
        error: "",
      },
    }, [{ type: "sql.run", id, sql: text }]] as Step;
  };
  if (k.return) {
    return editor.complete(sql.editor.draft)
      ? run()
      : set({ editor: editor.type(sql.editor, "\n") });
  }
  if (k.ctrl && k.input === "e") return run();
  if (k.escape) {
    if (sql.editor.draft) return set({ editor: { ...sql.editor, draft: "", browsing: null } });
    return switchTo(s, "dashboard");
  }
  if (k.upArrow) return set({ editor: editor.older(sql.editor) });
  if (k.downArrow) return set({ editor: editor.newer(sql.editor) });
  if (k.pageDown) return set({ top: clamp(sql.top + ctx.tableRows, lastTop) });
  if (k.pageUp) return set({ top: clamp(sql.top - ctx.tableRows, lastTop) });
  if (k.home) return set({ top: 0 });
  if (k.end) return set({ top: lastTop });
  if (k.rightArrow) {
    return set({ left: clamp(sql.left + 1, (sql.result?.columns.length ?? 1) - 1) });
  }
  if (k.leftArrow) return set({ left: Math.max(0, sql.left - 1) });
  if (k.backspace || k.delete) return set({ editor: editor.backspace(sql.editor) });
  if (printable(k)) return set({ editor: editor.type(sql.editor, k.input) });
  return [s, []];
}

export function onTailKey(s: UiState, k: Key, ctx: Context): Step {
  const tail = s.tail;
  const set = (patch: Partial<UiState["tail"]>, effects: Effect[] = []): Step => [
    { ...s, tail: { ...tail, ...patch } },
    effects,
  ];
  if (tail.topic === null) {
    const topics = visibleTopics(s, ctx.topics);
    const selected = clamp(tail.selected, topics.length - 1);
    if (k.upArrow) return set({ selected: clamp(selected - 1, topics.length - 1) });
    if (k.downArrow) return set({ selected: clamp(selected + 1, topics.length - 1) });
    if (k.return && topics[selected]) {
      return [{
        ...s,
        filters: { ...s.filters, tail: "" },
        tail: {
          ...tail,
          topic: topics[selected],
          selected: 0,
          data: null,
          error: "",
          paused: false,
        },
      }, [{ type: "tail.fetch" }]];
    }
    if (k.escape) return [{ ...s, filters: { ...s.filters, tail: "" } }, []];
    return [s, []];
  }
  const messages = visibleMessages(s);
  const selected = clamp(tail.selected, messages.length - 1);
  if (k.upArrow) return set({ selected: clamp(selected - 1, messages.length - 1) });
  if (k.downArrow) return set({ selected: clamp(selected + 1, messages.length - 1) });
  if (k.pageDown) return set({ selected: clamp(selected + ctx.tableRows, messages.length - 1) });
  if (k.pageUp) return set({ selected: clamp(selected - ctx.tableRows, messages.length - 1) });
  if (k.return) return set({ detail: !tail.detail && messages.length > 0 });
  if (k.input === "p") {
    return set({ paused: !tail.paused }, tail.paused ? [{ type: "tail.fetch" }] : []);
  }
  if (k.escape) {
    if (tail.detail) return set({ detail: false });
    if (s.filters.tail) return [{ ...s, filters: { ...s.filters, tail: "" } }, []];
    const index = Math.max(0, ctx.topics.indexOf(tail.topic));
    return set({ topic: null, data: null, selected: index, detail: false, error: "" });
  }
  return [s, []];
}

export function onDlqKey(s: UiState, k: Key, ctx: Context): Step {
  if (!ctx.dlqEnabled) return [s, []];
  const dlq = s.dlq;
  const entries = visibleEntries(s);
  const selected = clamp(dlq.selected, entries.length - 1);
  const entry = entries[selected];
  const set = (patch: Partial<UiState["dlq"]>, effects: Effect[] = []): Step => [
    { ...s, dlq: { ...dlq, ...patch } },
    effects,
  ];
  const ask = (prompt: string, effect: Effect): Step => [{ ...s, confirm: { prompt, effect } }, []];
  if (k.upArrow) return set({ selected: clamp(selected - 1, entries.length - 1) });
  if (k.downArrow) return set({ selected: clamp(selected + 1, entries.length - 1) });
  if (k.pageDown) return set({ selected: clamp(selected + ctx.tableRows, entries.length - 1) });
  if (k.pageUp) return set({ selected: clamp(selected - ctx.tableRows, entries.length - 1) });
  if (k.return) return set({ detail: !dlq.detail && entries.length > 0 });
  if (k.escape) {
    if (dlq.detail) return set({ detail: false });
    return [{ ...s, filters: { ...s.filters, dlq: "" } }, []];
  }
  if (k.input === "s") {
    const status = DLQ_STATUSES[(DLQ_STATUSES.indexOf(dlq.status) + 1) % DLQ_STATUSES.length];
    return set({ status, selected: 0, loaded: false }, [{ type: "dlq.fetch" }]);
  }
  if (k.input === "g") return set({}, [{ type: "dlq.fetch" }]);
  if (!entry) return [s, []];
  const of = entry.sink === null ? `input rejected by ${entry.source}` : `of sink ${entry.sink}`;
  if ((k.input === "r" || k.input === "R") && entry.sink === null) {
    return [{
      ...s,
      message: "a rejected input is kept to be looked at, never sent: fix it at its producer",
    }, []];
  }
  if (k.input === "r") {
    return ask(`Replay entry ${entry.id} to sink ${entry.sink}?`, {
      type: "dlq.replay",
      params: { id: entry.id },
    });
  }
  if (k.input === "R") {
    return ask(`Replay every retrying and dead entry of sink ${entry.sink}?`, {
      type: "dlq.replay",
      params: { sink: entry.sink! },
    });
  }
  if (k.input === "x") {
    return ask(`Purge entry ${entry.id} (${of})? It cannot be undone.`, {
      type: "dlq.purge",
      params: { id: entry.id },
    });
  }
  if (k.input === "X") {
    return entry.sink === null
      ? ask("Purge every rejected input? It cannot be undone.", {
        type: "dlq.purge",
        params: { status: "rejected" },
      })
      : ask(`Purge every dead entry of sink ${entry.sink}? It cannot be undone.`, {
        type: "dlq.purge",
        params: { sink: entry.sink, status: "dead" },
      });
  }
  return [s, []];
}
