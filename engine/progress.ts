/**
 * Progress of long runs (compaction, upload, reshard, DLQ replay). On a terminal, a
 * task that lasts longer than a second draws a bar on a status line below the log;
 * elsewhere nothing is drawn (the log or the summary says what was done).
 */

/** How far one task has got; `advance` may be called often, it is cheap. */
export interface ProgressTask {
  advance(units: number): void;
  done(): void;
}

/** Starts tasks whose progress is shown. */
export interface Progress {
  start(label: string, total: number, unit: string): ProgressTask;
}

export const noProgress: Progress = {
  start: () => ({ advance() {}, done() {} }),
};

/**
 * One status line at the bottom of a terminal, with log lines scrolling above it:
 * `log` clears the status line, writes the line, and draws the status again.
 */
export class StatusLine {
  #text = "";
  constructor(readonly write: (text: string) => void) {}

  log(line: string): void {
    this.write(this.#text ? `\r\x1b[K${line}\n${this.#text}` : `${line}\n`);
  }

  set(text: string): void {
    this.write(`\r\x1b[K${text}`);
    this.#text = text;
  }

  clear(): void {
    if (this.#text) this.write("\r\x1b[K");
    this.#text = "";
  }
}

/** Draws each task as a bar on `status`, from `delayMs` after it starts, at most 10 times a second. */
export class TerminalProgress implements Progress {
  constructor(
    readonly status: StatusLine,
    readonly opts: { columns?: () => number; delayMs?: number; now?: () => number } = {},
  ) {}

  start(label: string, total: number, unit: string): ProgressTask {
    const now = this.opts.now ?? (() => performance.now());
    const started = now();
    let done = 0;
    let drawn = 0;
    let shown = false;
    const draw = () => {
      const t = now();
      if (t - started < (this.opts.delayMs ?? 1000) || t - drawn < 100) return;
      drawn = t;
      shown = true;
      const columns = this.opts.columns?.() ?? 80;
      this.status.set(renderBar(label, done, total, unit, t - started, columns));
    };
    return {
      advance: (units) => {
        done += units;
        draw();
      },
      done: () => {
        if (shown) this.status.clear();
      },
    };
  }
}

/**
 * `compact orders [#######-------]  52%  520k/1.0M rows  3s`, fitted to `columns`;
 * `unit` "bytes" is shown as sizes, any other as counts of it; `note` follows the time.
 */
export function renderBar(
  label: string,
  done: number,
  total: number,
  unit: string,
  elapsedMs: number,
  columns: number,
  note = "",
): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const amount = unit === "bytes"
    ? `${formatBytes(done)}/${formatBytes(total)}`
    : `${formatCount(done)}/${formatCount(total)} ${unit}`;
  const base = ` ${String(Math.floor(fraction * 100)).padStart(3)}%  ${amount}  ${
    Math.round(elapsedMs / 1000)
  }s`;
  // The note goes only where it leaves the label and a short bar their room.
  const withNote = note ? `${base}  ${note}` : base;
  const tail = columns - 1 - withNote.length >= label.length + 13 ? withNote : base;
  const room = columns - 1 - tail.length;
  const barWidth = Math.max(0, Math.min(30, room - label.length - 3));
  const name = label.length > room - 3 ? label.slice(0, Math.max(0, room - 4)) + "…" : label;
  const filled = Math.round(fraction * barWidth);
  const bar = barWidth ? ` [${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]` : "";
  return `${name}${bar}${tail}`.slice(0, columns - 1);
}

function formatCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  return String(n);
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)}GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)}MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)}KiB`;
  return `${n}B`;
}
