/**
 * Everything the console remembers between frames: the state, the events that change it
 * (keys, and the engine's answers), and the effects that ask the engine for something.
 * `reduce.ts` is how events change it.
 */
import type { DlqEntry, SqlResult, TailResult } from "../engine/client.ts";
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

export type DlqStatusFilter = "" | "retrying" | "dead" | "delivered" | "rejected";

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
    matches(filterOf(s, "dlq"), e.sink ?? "", e.key ?? "", e.error, e.source, String(e.id))
  );
}

/** The filter in force in `view`: the one being typed, or the applied one. */
export function filterOf(s: UiState, view: View): string {
  return s.view === view && s.filterDraft !== null ? s.filterDraft : s.filters[view];
}
