/** The SQL prompt's text and history: pure functions over `SqlEditor`. */

export interface SqlEditor {
  /** The text being typed; lines separated by "\n". */
  draft: string;
  /** Queries run, oldest first (consecutive repeats kept once). */
  history: string[];
  /** The history entry shown, or null while editing a fresh draft. */
  browsing: number | null;
  /** The fresh draft, kept while browsing history. */
  saved: string;
}

export const HISTORY_SIZE = 200;

export const emptyEditor: SqlEditor = { draft: "", history: [], browsing: null, saved: "" };

/** Types text (a key or a paste); carriage returns become new lines. */
export function type(editor: SqlEditor, text: string): SqlEditor {
  return { ...editor, draft: editor.draft + text.replace(/\r\n?/g, "\n"), browsing: null };
}

export function backspace(editor: SqlEditor): SqlEditor {
  return { ...editor, draft: editor.draft.slice(0, -1), browsing: null };
}

/** Whether Enter should run the draft: it ends with a semicolon (as in psql and sqlite3). */
export function complete(draft: string): boolean {
  return draft.trimEnd().endsWith(";");
}

/** Takes the draft to run: it joins the history and the prompt empties. */
export function submit(editor: SqlEditor): { editor: SqlEditor; sql: string } {
  const sql = editor.draft.trim();
  const history = editor.history.at(-1) === sql ? editor.history : [...editor.history, sql];
  return {
    editor: { draft: "", history: history.slice(-HISTORY_SIZE), browsing: null, saved: "" },
    sql,
  };
}

/** Up: the previous query in the history (the draft is kept to come back to). */
export function older(editor: SqlEditor): SqlEditor {
  if (editor.history.length === 0) return editor;
  if (editor.browsing === null) {
    const at = editor.history.length - 1;
    return { ...editor, browsing: at, saved: editor.draft, draft: editor.history[at] };
  }
  const at = Math.max(0, editor.browsing - 1);
  return { ...editor, browsing: at, draft: editor.history[at] };
}

/** Down: the next query in the history, and past the newest, the draft again. */
export function newer(editor: SqlEditor): SqlEditor {
  if (editor.browsing === null) return editor;
  const at = editor.browsing + 1;
  if (at >= editor.history.length) return { ...editor, browsing: null, draft: editor.saved };
  return { ...editor, browsing: at, draft: editor.history[at] };
}
