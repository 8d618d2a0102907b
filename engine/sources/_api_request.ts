/**
 * One request of the API source, made politely: a token from the rate limiter before
 * every attempt, a time limit per attempt, retries with exponential backoff for what
 * may pass (network errors, timeouts, 408, 429, 5xx), and `Retry-After` honoured on
 * 429 and 503.
 */
import { type Backoff, backoffDelay, sleep } from "../backoff.ts";
import type { Clock } from "../types.ts";
import type { TokenBucket } from "./_rate_limit.ts";
import { findJsonProblem } from "./_json_position.ts";
import { readAtMost } from "../bytes.ts";

/** Why a request or its response could not be used: the `reason` label of the error metric. */
export type ErrorReason =
  | "status"
  | "timeout"
  | "network"
  | "json"
  | "too_large"
  | "items"
  | "key"
  | "pagination"
  | "max_pages"
  | "write"
  | "internal";

/** A request that failed, or a response the source cannot use. */
export class ApiError extends Error {
  constructor(
    readonly reason: ErrorReason,
    message: string,
    readonly opts: { retryable?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "ApiError";
  }
}

export interface RequestOptions {
  method: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Largest response body read, in bytes. */
  maxBytes: number;
  /** Attempts after the first one fails. */
  retries: number;
  backoff: Backoff;
  bucket?: TokenBucket;
  clock: Clock;
  /** Aborts the request and any wait at once (the source is stopping). */
  signal: AbortSignal;
  /** Told before each attempt is sent. */
  onAttempt?: () => void;
  /** Told about each failed attempt that will be retried, and how long until the retry. */
  onRetry?: (error: ApiError, attempt: number, waitMs: number) => void;
  random?: () => number;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

const UTF8 = new TextDecoder();

/**
 * Fetches `url` and parses its JSON body, retrying as configured. Throws the last
 * `ApiError` when every attempt failed, or the abort reason once `signal` aborts.
 */
export async function requestJson(url: URL, opts: RequestOptions): Promise<ApiResponse> {
  for (let attempt = 0;; attempt++) {
    await opts.bucket?.take(opts.signal);
    opts.signal.throwIfAborted();
    opts.onAttempt?.();
    try {
      return await attemptOnce(url, opts);
    } catch (error) {
      opts.signal.throwIfAborted();
      const e = error as ApiError;
      if (!e.opts.retryable || attempt >= opts.retries) throw e;
      const wait = e.opts.retryAfterMs ?? backoffDelay(opts.backoff, attempt + 1, opts.random);
      opts.onRetry?.(e, attempt + 1, wait);
      await sleep(wait, opts.signal);
      opts.signal.throwIfAborted();
    }
  }
}

async function attemptOnce(url: URL, opts: RequestOptions): Promise<ApiResponse> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), opts.timeoutMs);
  const signal = AbortSignal.any([opts.signal, timeout.signal]);
  const failed = (error: unknown): ApiError =>
    timeout.signal.aborted
      ? new ApiError("timeout", `no complete answer within ${opts.timeoutMs} ms`, {
        retryable: true,
      })
      : error instanceof ApiError
      ? error
      : new ApiError("network", describe(error), { retryable: true, cause: error });
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        method: opts.method,
        headers: opts.headers,
        body: opts.body,
        signal,
      });
    } catch (error) {
      throw failed(error);
    }
    let bytes: Uint8Array;
    try {
      bytes = await readLimited(response, opts.maxBytes);
    } catch (error) {
      throw failed(error);
    }
    if (!response.ok) {
      const status = response.status;
      const text = UTF8.decode(bytes.subarray(0, 200)).replace(/\s+/g, " ").trim();
      const retryAfter = status === 429 || status === 503
        ? parseRetryAfter(response.headers.get("retry-after"), opts.clock.now())
        : undefined;
      throw new ApiError("status", `answered ${status}${text ? `: ${text}` : ""}`, {
        retryable: status === 408 || status === 429 || status >= 500,
        retryAfterMs: retryAfter,
      });
    }
    return { status: response.status, headers: response.headers, body: parseJson(bytes, response) };
  } finally {
    clearTimeout(timer);
  }
}

/** An error with its causes: `fetch failed: Connection refused (os error 111)`. */
function describe(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e instanceof Error && parts.length < 4; e = e.cause) {
    if (!parts.some((p) => p.includes(e.message))) parts.push(e.message);
  }
  return parts.join(": ") || String(error);
}

/** The body; an `ApiError` (`too_large`) as soon as it grows past `limit` bytes. */
async function readLimited(response: Response, limit: number): Promise<Uint8Array> {
  const bytes = await readAtMost(response.body, limit);
  if (bytes === undefined) {
    throw new ApiError("too_large", `response is over max_response (${limit} bytes)`);
  }
  return bytes;
}

function parseJson(bytes: Uint8Array, response: Response): unknown {
  const text = UTF8.decode(bytes);
  try {
    return JSON.parse(text);
  } catch {
    const type = response.headers.get("content-type") ?? "none";
    const p = findJsonProblem(text);
    throw new ApiError(
      "json",
      `answered ${response.status} with a body that is not JSON (content-type ${type}): ` +
        `line ${p.line} column ${p.column}: ${p.message}`,
    );
  }
}

/**
 * Milliseconds to wait from a `Retry-After` header: delay-seconds or an HTTP date.
 * Undefined when absent or unreadable (the caller then backs off as usual).
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month ("Sun, 06 Nov 1994 08:49:37 GMT").
  const date = /[a-z]{3}/i.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
