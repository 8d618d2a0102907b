/**
 * REST API polling source: every `interval` it walks every page of an endpoint,
 * compares each item with the version it last emitted, and writes only what changed,
 * each message with `_change` ({op, fields, previous}). What it has emitted and its
 * watermark live in `meta.db` and advance only after the commit of those messages, so
 * a restart emits nothing that did not change, and a failed poll records nothing.
 */
import {
  any,
  boolean,
  type Infer,
  integer,
  number,
  object,
  oneOf,
  record,
  string,
} from "../schema/schema.ts";
import { backoffSpec, dottedPath } from "../schema/common.ts";
import { topicName } from "../store/topics.ts";
import { duration, size } from "../schema/units.ts";
import { type Backoff, backoffDelay, sleep } from "../backoff.ts";
import { DOTTED_PATH } from "../paths.ts";
import { BacklogError } from "../store/writer.ts";
import type { Message } from "../types.ts";
import type { Source, SourceContext } from "./source.ts";
import { ApiError, type ErrorReason, type RequestOptions } from "./_api_request.ts";
import { ApiState, type StateChange } from "./_api_state.ts";
import { type FoundChange, type Walk, walk } from "./_api_walk.ts";
import { paginationSpec } from "./_pagination.ts";
import { canonicalJson } from "./_diff.ts";
import { hashString } from "../hash.ts";
import { TokenBucket } from "./_rate_limit.ts";

export const spec = object({
  url: string({ pattern: /^https?:\/\/\S+$/, hint: "must be an http:// or https:// URL" })
    .describe(
      "Endpoint to poll (http or https); pagination and watermark parameters are added to its query.",
      "https://api.example.com/v1/users?status=active",
    ),
  method: oneOf(["GET", "POST"] as const).default("GET").describe("HTTP method."),
  headers: record(string({ nonEmpty: false })).default({}).describe(
    "Request headers, e.g. Authorization: Bearer ${API_TOKEN}; accept: application/json unless given.",
  ),
  body: any().optional().describe(
    "Request body for POST: a mapping or list is sent as JSON (content-type: application/json " +
      "unless given), a string as it is.",
  ),
  topic: topicName().describe("Topic the changes are written to."),
  key: dottedPath().describe(
    "Dotted path of the key in each item (a non-empty string or a number).",
    "id",
  ),
  items: string({
    nonEmpty: false,
    pattern: new RegExp(`^(?:|${DOTTED_PATH.source.slice(1, -1)})$`),
    hint: "must be a dotted path such as data or result.items, or empty for a top-level list",
  }).default("").describe(
    "Dotted path of the list of items in each response; empty: the response is the list.",
    "result.items",
  ),
  interval: duration().default(60_000).check((ms) => ms > 0 ? undefined : "must be above 0")
    .describe(
      "Time from the start of one poll to the start of the next; a poll that takes longer is " +
        "followed at once. The first poll runs at start.",
    ),
  timeout: duration().default(10_000).check((ms) => ms > 0 ? undefined : "must be above 0")
    .describe("Time allowed for one request, body included."),
  rate_limit: number({ min: 0.001 }).optional().describe(
    "Most requests per second, over all pages and retries (default: no limit).",
  ),
  burst: integer({ min: 1 }).default(1).describe(
    "Requests that may go at once under rate_limit: over any T seconds at most " +
      "burst + rate_limit × T requests start.",
  ),
  retries: integer({ min: 0, max: 100 }).default(3).describe(
    "Attempts after a request fails with a network error, a timeout, 408, 429 or 5xx. Other 4xx " +
      "and unusable bodies are not retried.",
  ),
  backoff: backoffSpec({ initial: 1000, max: 30_000 }).describe(
    "Delay between attempts; a Retry-After on 429 or 503 takes its place.",
  ),
  max_pages: integer({ min: 1 }).default(1000).describe(
    "Most pages read in one poll. A poll stopped by it keeps what it read, emits no deletes, and warns.",
  ),
  max_response: size().default(32 * 1024 * 1024).describe(
    "Largest response body accepted; a larger one fails the poll.",
  ),
  pagination: paginationSpec.optional(),
  watermark: object({
    field: dottedPath().describe("Dotted path of the item field, e.g. updated_at."),
    param: string().describe("Query parameter that carries the highest value seen.", "since"),
    initial: string().optional().describe("Value sent before any poll has been recorded."),
  }).optional().describe("Incremental polls: send the highest value of field seen so far."),
  deletes: boolean().default(false).describe(
    "Emit a delete for keys that disappeared from a full snapshot (not with watermark).",
  ),
  previous: boolean().default(false).describe(
    "Add the previous version of the item to _change.previous on updates and deletes.",
  ),
}).check((c) => {
  if (c.deletes && c.watermark) {
    return "deletes needs full snapshots, and a watermark polls only what changed; remove one";
  }
  if (c.body !== undefined && c.method === "GET") return "a body needs method: POST";
  const pageParams = c.pagination?.type === "cursor" || c.pagination?.type === "page"
    ? [c.pagination.param]
    : c.pagination?.type === "offset"
    ? [c.pagination.param, c.pagination.limit_param]
    : [];
  if (c.watermark && pageParams.includes(c.watermark.param)) {
    return `watermark.param ${c.watermark.param} is also a pagination parameter; choose another`;
  }
  return undefined;
});

export type ApiSourceConfig = Infer<typeof spec>;

/** What one poll did. */
export interface PollOutcome {
  ok: boolean;
  pages: number;
  /** Changes committed, by op. */
  changes: { insert: number; update: number; delete: number };
  error?: string;
}

/** Changes per write: the state of each slice is recorded as soon as it is committed. */
const WRITE_SLICE = 5000;

export class ApiSource implements Source {
  readonly #state: ApiState;
  readonly #bucket: TokenBucket | undefined;
  readonly #abort = new AbortController();
  #queue: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #keys = 0;
  #failing: string | undefined;
  readonly #metrics;

  constructor(
    readonly name: string,
    readonly config: ApiSourceConfig,
    readonly ctx: SourceContext,
  ) {
    this.#state = new ApiState(ctx.meta, name);
    this.#bucket = config.rate_limit === undefined
      ? undefined
      : new TokenBucket(config.rate_limit, config.burst, ctx.clock);
    const m = ctx.metrics;
    const source = { source: name };
    this.#metrics = {
      messages: m.counter(
        "litejoin_source_messages_total",
        "Messages committed to topics, by source.",
      ).bind(source),
      polls: m.counter(
        "litejoin_source_api_polls_total",
        "API polls, by source and outcome (ok, failed).",
      ),
      requests: m.counter(
        "litejoin_source_api_requests_total",
        "API requests sent, retries included, by source.",
      ).bind(source),
      errors: m.counter(
        "litejoin_source_api_errors_total",
        "API source errors, by source and reason (status, timeout, network, json, too_large, items, key, pagination, max_pages, write, internal).",
      ),
      changes: m.counter(
        "litejoin_source_api_changes_total",
        "Changes committed by API sources, by source and op.",
      ),
      keys: m.gauge("litejoin_source_api_keys", "Keys an API source tracks for diffing."),
      lastOk: m.gauge(
        "litejoin_source_api_last_success_timestamp_seconds",
        "When an API source last completed a poll.",
      ),
    };
    this.#metrics.keys.collect(() => this.#metrics.keys.set(source, this.#keys));
  }

  start(): Promise<void> {
    this.#keys = this.#state.count();
    const { method, url, interval, topic } = this.config;
    this.ctx.log.info(
      `polling ${method} ${url} every ${interval} ms into topic ${topic} (${this.#keys} key(s) known)`,
    );
    this.#schedule(0);
    return Promise.resolve();
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(async () => {
      const started = this.ctx.clock.now();
      await this.poll();
      this.#schedule(Math.max(0, started + this.config.interval - this.ctx.clock.now()));
    }, delay);
  }

  /** Polls once, after any poll in progress. Never rejects: a failure is in the outcome. */
  poll(): Promise<PollOutcome> {
    const run = this.#queue.then(() => this.#poll());
    this.#queue = run;
    return run;
  }

  async #poll(): Promise<PollOutcome> {
    const outcome: PollOutcome = {
      ok: false,
      pages: 0,
      changes: { insert: 0, update: 0, delete: 0 },
    };
    if (this.#stopped) return { ...outcome, error: "stopped" };
    const started = performance.now();
    let found: Walk;
    try {
      found = await walk({
        ...this.config,
        maxPages: this.config.max_pages,
        request: this.#requestOptions(),
      }, this.#state);
      outcome.pages = found.pages;
      this.#report(found);
      await this.#commit(found, outcome);
      await this.#reject(found);
    } catch (error) {
      if (this.#abort.signal.aborted) return { ...outcome, error: "stopped" };
      const e = error instanceof ApiError
        ? error
        : new ApiError("internal", (error as Error).message, { cause: error });
      this.#metrics.errors.inc({ source: this.name, reason: e.reason });
      this.#metrics.polls.inc({ source: this.name, outcome: "failed" });
      this.#failing = `last poll failed: ${e.message}`;
      const committed = outcome.changes.insert + outcome.changes.update + outcome.changes.delete;
      this.ctx.log.error(
        `poll failed, ${
          committed ? `${committed} change(s) committed before it, the rest not` : "nothing"
        } recorded; next poll in ${this.config.interval} ms: ${e.message}`,
      );
      return { ...outcome, error: e.message };
    }
    this.#metrics.polls.inc({ source: this.name, outcome: "ok" });
    this.#failing = undefined;
    this.#metrics.lastOk.set({ source: this.name }, this.ctx.clock.now() / 1000);
    const { insert, update, delete: deleted } = outcome.changes;
    const log = insert + update + deleted ? this.ctx.log.info : this.ctx.log.debug;
    log(
      `polled ${found.pages} page(s), ${found.items} item(s) in ${
        Math.round(performance.now() - started)
      } ms: ` +
        `${insert} insert(s), ${update} update(s), ${deleted} delete(s)`,
    );
    return { ...outcome, ok: true };
  }

  #requestOptions(): RequestOptions {
    const c = this.config;
    const headers = new Headers({ accept: "application/json" });
    let body: string | undefined;
    if (c.body !== undefined) {
      body = typeof c.body === "string" ? c.body : JSON.stringify(c.body);
      if (typeof c.body !== "string") headers.set("content-type", "application/json");
    }
    for (const [name, value] of Object.entries(c.headers)) headers.set(name, value);
    return {
      method: c.method,
      headers: Object.fromEntries(headers),
      body,
      timeoutMs: c.timeout,
      maxBytes: c.max_response,
      retries: c.retries,
      backoff: c.backoff,
      bucket: this.#bucket,
      clock: this.ctx.clock,
      signal: this.#abort.signal,
      onAttempt: () => this.#metrics.requests.inc(),
      onRetry: (error, attempt, wait) => {
        this.#metrics.errors.inc({ source: this.name, reason: error.reason });
        this.ctx.log.debug(
          `attempt ${attempt} failed (${error.message}); retrying in ${Math.round(wait)} ms`,
        );
      },
    };
  }

  /** The warnings of a poll that succeeded: one line each, once per poll. */
  #report(found: Walk): void {
    const count = (reason: ErrorReason, n = 1) =>
      this.#metrics.errors.inc({ source: this.name, reason }, n);
    if (found.retries.count) {
      this.ctx.log.warn(
        `${found.retries.count} request attempt(s) failed and were retried; last: ${found.retries.last}`,
      );
    }
    if (found.skipped.count) {
      count("key", found.skipped.count);
      this.ctx.log.warn(
        `${found.skipped.count} item(s) skipped, first: ${found.skipped.first}` +
          (this.config.deletes ? "; no deletes in this poll, as the snapshot is incomplete" : ""),
      );
    }
    if (found.truncated) {
      count("max_pages");
      this.ctx.log.warn(
        `stopped after max_pages (${this.config.max_pages}) with more pages to read; ` +
          "raise max_pages to read them" + (this.config.deletes ? "; no deletes in this poll" : ""),
      );
    }
  }

  /**
   * Writes the changes in slices and records each slice's state once it is committed,
   * then the watermark once all are. The state always matches what was committed.
   */
  async #commit(found: Walk, outcome: PollOutcome): Promise<void> {
    const entries = [...found.changes];
    const now = this.ctx.clock.now();
    const watermark = this.config.watermark ? found.watermark : undefined;
    for (let at = 0; at === 0 || at < entries.length; at += WRITE_SLICE) {
      this.#abort.signal.throwIfAborted();
      const slice = entries.slice(at, at + WRITE_SLICE);
      const messages = slice.map(([key, c]) => this.#message(key, c, now));
      const inserts = slice.filter(([, c]) => c.change.op === "insert").map(([key]) => key);
      if (inserts.length) this.#state.expect(inserts);
      await this.#write(messages);
      const last = at + WRITE_SLICE >= entries.length;
      this.#state.commit(
        slice.map(([key, c]): StateChange => [key, c.known]),
        last ? watermark : undefined,
      );
      const counts = { insert: 0, update: 0, delete: 0 };
      for (const [, c] of slice) counts[c.change.op]++;
      for (const op of ["insert", "update", "delete"] as const) {
        outcome.changes[op] += counts[op];
        if (counts[op]) this.#metrics.changes.inc({ source: this.name, op }, counts[op]);
      }
      this.#keys += counts.insert - counts.delete;
      this.#metrics.messages.inc(messages.length);
    }
  }

  /**
   * Hands refused items to the dead-letter queue, each distinct item once: the same
   * item comes back on every poll until the API fixes it.
   */
  async #reject(found: Walk): Promise<void> {
    for (const { item, reason, url, index } of found.skipped.items) {
      const hash = hashString(canonicalJson(item));
      if (this.#state.wasRejected(hash)) continue;
      await this.ctx.dlq?.reject({
        source: this.name,
        reason,
        raw: JSON.stringify(item),
        detail: { url, index },
      });
      this.#state.rejected(hash);
    }
  }

  #message(key: string, found: FoundChange, now: number): Message {
    return {
      topic: this.config.topic,
      key,
      payload: found.payload,
      timestamp: now,
      _change: found.change,
    };
  }

  /** Writes and waits for the commit; waits out a full writer rather than fail the poll. */
  async #write(messages: Message[]): Promise<void> {
    const backoff: Backoff = { initial: 50, max: 2000, multiplier: 2, jitter: 0.2 };
    for (let attempt = 1;; attempt++) {
      try {
        return await this.ctx.writer.write(messages);
      } catch (error) {
        if (!(error instanceof BacklogError)) {
          throw new ApiError("write", `messages not stored: ${(error as Error).message}`);
        }
        await sleep(backoffDelay(backoff, attempt), this.#abort.signal);
        this.#abort.signal.throwIfAborted();
      }
    }
  }

  /** Why the last poll failed, until one succeeds. */
  failing(): string | undefined {
    return this.#failing;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#queue;
  }
}
