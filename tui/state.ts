/**
 * Everything the console remembers between frames, and how keys and replies change it:
 * one pure reducer. Keys can arrive several per stdin chunk and are applied one after
 * the other before React renders, so no handler may read state from a render.
 * Requests to the engine leave the reducer as `Effect`s; their answers come back as
 * events.
 */
import type { DlqEntry, SqlResult, TailResult } from "../engine/control/protocol.ts";
import * as editor from "./sql_editor.ts";

export type View = "dashboard" | "sql" | "tail" | "dlq";
export const VIEWS: readonly View[] = ["dashboard", "sql", "tail", "dlq"];
export const VIEW_TITLES: Record<View, string> = {
  dashboard: "Dashboard",
  sql: "SQL",
  tail: "Tail",
  dlq: "DLQ",
};

/** A key as Ink reports it. */
export interface Key {
  input: string;
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  backspace?: boolean;
  delete?: boolean;
  tab?: boolean;
  shift?: boolean;
  ctrl?: boolean;
  meta?: boolean;
}

export type DlqStatusFilter = "" | "retrying" | "dead" | "delivered";
const DLQ_STATUSES: DlqStatusFilter[] = ["", "retrying", "dead", "delivered"];

export type Effect =
  | { type: "quit" }
  | { type: "sql.run"; id: string; sql: string }
  | { type: "sql.cancel"; id: string }
  | { type: "tail.fetch" }
  | { type: "dlq.fetch" }
  | { type: "dlq.replay"; params: { id?: number; sink?: string } }
  | { type: "dlq.purge"; params: { id?: number; sink?: string; status?: string } };

export type Event =
  | { type: "key"; key: Key }
  | { type: "sql.result"; id: string; result: SqlResult }
  | { type: "sql.error"; id: string; message: string }
  | { type: "tail.data"; data: TailResult }
  | { type: "tail.error"; topic: string; message: string }
  | { type: "dlq.entries"; entries: DlqEntry[] }
  | { type: "dlq.error"; message: string }
  | { type: "message"; text: string };

/** What the reducer needs to know about the screen and the engine. */
export interface Context {
  topics: readonly string[];
  dlqEnabled: boolean;
  /** Rows of the table in the current view (for paging). */
  tableRows: number;
}

export interface UiState {
  view: View;
  help: boolean;
  /** The `/` filter of each view. */
  filters: Record<View, string>;
  /** The filter being typed (null when not typing one). */
  filterDraft: string | null;
  /** Waiting for y/n before running `effect`. */
  confirm: { prompt: string; effect: Effect } | null;
  /** One line for the footer: what just happened. */
  message: string;
  sql: {
    editor: editor.SqlEditor;
    nextId: number;
    /** The id of the query running, if one is. */
    running: string | null;
    runningSql: string;
    result: SqlResult | null;
    error: string;
    /** First row and first column shown. */
    top: number;
    left: number;
  };
  tail: {
    topic: string | null;
    /** Selected topic (in the list) or message (in a topic). */
    selected: number;
    data: TailResult | null;
    error: string;
    paused: boolean;
    detail: boolean;
  };
  dlq: {
    entries: DlqEntry[];
    loaded: boolean;
    selected: number;
    status: DlqStatusFilter;
    error: string;
    detail: boolean;
  };
  quit: boolean;
}

export const initialState: UiState = {
  view: "dashboard",
  help: false,
  filters: { dashboard: "", sql: "", tail: "", dlq: "" },
  filterDraft: null,
  confirm: null,
  message: "",
  sql: {
    editor: editor.emptyEditor,
    nextId: 1,
    running: null,
    runningSql: "",
    result: null,
    error: "",
    top: 0,
    left: 0,
  },
  tail: { topic: null, selected: 0, data: null, error: "", paused: false, detail: false },
  dlq: { entries: [], loaded: false, selected: 0, status: "", error: "", detail: false },
  quit: false,
};

export type Step = [UiState, Effect[]];

const matches = (filter: string, ...texts: string[]) =>
  !filter || texts.some((t) => t.toLowerCase().includes(filter.toLowerCase()));

/** The topics listed in the tail view, after its filter. */
export function visibleTopics(s: UiState, topics: readonly string[]): string[] {
  return topics.filter((t) => matches(filterOf(s, "tail"), t));
}

/** The messages shown in the tail view, after its filter. */
export function visibleMessages(s: UiState): TailResult["messages"] {
  return (s.tail.data?.messages ?? []).filter((m) =>
    matches(filterOf(s, "tail"), m.key, m.payload)
  );
}

/** The DLQ entries shown, after the `/` filter. */
export function visibleEntries(s: UiState): DlqEntry[] {
  return s.dlq.entries.filter((e) =>
    matches(filterOf(s, "dlq"), e.sink, e.key, e.error, e.source, String(e.id))
  );
}

/** The filter in force in `view`: the one being typed, or the applied one. */
export function filterOf(s: UiState, view: View): string {
  return s.view === view && s.filterDraft !== null ? s.filterDraft : s.filters[view];
}

const clamp = (n: number, max: number) => Math.max(0, Math.min(n, Math.max(0, max)));
const printable = (k: Key) => k.input.length > 0 && !k.ctrl && !k.meta && !k.escape && !k.tab;

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

function switchTo(s: UiState, view: View): Step {
  const next = { ...s, view, message: "" };
  if (view === "tail" && s.tail.topic) return [next, [{ type: "tail.fetch" }]];
  if (view === "dlq") return [next, [{ type: "dlq.fetch" }]];
  return [next, []];
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

function onSqlKey(s: UiState, k: Key, ctx: Context): Step {
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

function onTailKey(s: UiState, k: Key, ctx: Context): Step {
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

function onDlqKey(s: UiState, k: Key, ctx: Context): Step {
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
  if (k.input === "r") {
    return ask(`Replay entry ${entry.id} to sink ${entry.sink}?`, {
      type: "dlq.replay",
      params: { id: entry.id },
    });
  }
  if (k.input === "R") {
    return ask(`Replay every waiting entry of sink ${entry.sink}?`, {
      type: "dlq.replay",
      params: { sink: entry.sink },
    });
  }
  if (k.input === "x") {
    return ask(`Purge entry ${entry.id} of sink ${entry.sink}? It cannot be undone.`, {
      type: "dlq.purge",
      params: { id: entry.id },
    });
  }
  if (k.input === "X") {
    return ask(`Purge every dead entry of sink ${entry.sink}? It cannot be undone.`, {
      type: "dlq.purge",
      params: { sink: entry.sink, status: "dead" },
    });
  }
  return [s, []];
}
