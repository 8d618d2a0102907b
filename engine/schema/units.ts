/** Durations (`10ms`, `5m`, `1h30m`), sizes (`1MiB`) and listen addresses, parsed from config. */
import { custom } from "./schema.ts";

const DURATION_UNITS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Milliseconds in a duration such as `10ms`, `5m`, `24h` or `1h30m`, or an error message. */
export function parseDuration(text: string): number | { error: string } {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  const part = /(\d+(?:\.\d+)?)(us|ms|s|m|h|d)/y;
  let total = 0;
  let pos = 0;
  while (pos < trimmed.length) {
    part.lastIndex = pos;
    const match = part.exec(trimmed);
    if (!match) {
      return {
        error: `${JSON.stringify(text)} is not a duration (write e.g. 250ms, 10s, 5m, 24h, 7d)`,
      };
    }
    total += Number(match[1]) * DURATION_UNITS[match[2]];
    pos = part.lastIndex;
  }
  if (pos === 0) return { error: "a duration must not be empty (write e.g. 10s)" };
  return total;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Bytes in a size such as `512KiB`, `1MiB`, `2GB` or a bare number of bytes. */
export function parseSize(text: string): number | { error: string } {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match?.[2].toLowerCase() ?? "";
  if (!match || (unit !== "" && !(unit in SIZE_UNITS))) {
    return { error: `${JSON.stringify(text)} is not a size (write e.g. 512KiB, 1MiB, 10MB)` };
  }
  return Math.round(Number(match[1]) * (unit ? SIZE_UNITS[unit] : 1));
}

export interface ListenAddress {
  hostname: string;
  port: number;
}

/** `host:port`, `:port` (all interfaces) or `[::1]:port`; port 0 picks a free port. */
export function parseListen(text: string): ListenAddress | { error: string } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    return {
      error: `${JSON.stringify(text)} is not an address (write host:port, e.g. 127.0.0.1:8080)`,
    };
  }
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

export const duration = () =>
  custom<number>(
    "duration",
    (raw) =>
      typeof raw === "number" && raw === 0
        ? 0
        : typeof raw === "string"
        ? parseDuration(raw)
        : { error: `expected a duration such as 10s, found ${JSON.stringify(raw)} (add a unit)` },
  );

export const size = () =>
  custom<number>(
    "size",
    (raw) =>
      typeof raw === "number" && Number.isInteger(raw) && raw >= 0
        ? raw
        : typeof raw === "string"
        ? parseSize(raw)
        : { error: `expected a size such as 1MiB, found ${JSON.stringify(raw)}` },
  );

export const listen = () =>
  custom<ListenAddress>(
    "host:port",
    (raw) =>
      typeof raw === "string"
        ? parseListen(raw)
        : { error: `expected host:port, found ${JSON.stringify(raw)}` },
  );
