/** One-line logs, one component per line: `2026-11-22T10:00:00.000Z info  http: listening on …`. */

export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines name `component`. */
  child(component: string): Logger;
}

export interface LogOptions {
  level?: Level;
  format?: "text" | "json";
  write?: (line: string) => void;
  component?: string;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const min = ORDER[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => console.error(line));
  const format = opts.format ?? "text";
  const log = (level: Level) => (message: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const time = new Date().toISOString();
    if (format === "json") {
      write(JSON.stringify({ time, level, component: opts.component, message, ...fields }));
      return;
    }
    const extra = fields
      ? " " + Object.entries(fields).map(([k, v]) => `${k}=${formatValue(v)}`).join(" ")
      : "";
    const component = opts.component ? `${opts.component}: ` : "";
    write(`${time} ${level.padEnd(5)} ${component}${message}${extra}`);
  };
  return {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    child: (component) =>
      createLogger({
        ...opts,
        write,
        component: opts.component ? `${opts.component}.${component}` : component,
      }),
  };
}

function formatValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return /[\s"=]/.test(text) ? JSON.stringify(text) : text;
}

/**
 * A log call for a failure that can repeat on every request, such as a full disk: the
 * first is written at once, later ones at most once per `intervalMs`, each saying how
 * many were held back since the one before.
 */
export function throttled(
  write: (message: string) => void,
  intervalMs: number,
  now: () => number = Date.now,
): (message: string) => void {
  let last = -Infinity;
  let held = 0;
  return (message) => {
    const at = now();
    if (at - last < intervalMs) {
      held++;
      return;
    }
    last = at;
    write(held ? `${message} (${held} more like it held back)` : message);
    held = 0;
  };
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = createLogger({ write: () => {} });
