/**
 * HTTP push source: `POST <path>` with one JSON object, a JSON array of objects, or
 * NDJSON. A request is all or nothing: it is validated whole, and answered 202 only
 * after the commit that holds every one of its messages.
 */
import { type Infer, object, string } from "../schema/schema.ts";
import { dottedPath, httpPath } from "../schema/common.ts";
import { topicName } from "../store/topics.ts";
import { size } from "../schema/units.ts";
import { jsonError } from "../http/server.ts";
import { getPath, keyOf } from "../paths.ts";
import { BacklogError } from "../store/writer.ts";
import type { BoundCounter } from "../metrics.ts";
import { throttled } from "../log.ts";
import type { Message } from "../types.ts";
import type { Source, SourceContext } from "./source.ts";
import { findJsonProblem } from "./_json_position.ts";
import { decodeUtf8 } from "./_utf8.ts";
import { MAX_JSON_DEPTH, nestedDeeperThan, tooDeepMessage } from "./_json_depth.ts";
import { readAtMost } from "../bytes.ts";

export const spec = object({
  path: httpPath().describe("URL path that accepts POSTs.", "/ingest/orders"),
  topic: topicName().describe("Topic the messages are written to."),
  key: dottedPath().optional().describe(
    "Dotted path of the message key in each payload (id, customer.id); the key must be a string " +
      "or a number. One of key and key_header is required.",
    "id",
  ),
  key_header: string().optional().describe(
    "Instead of key: a request header holding the key, for bodies without one.",
    "X-Key",
  ),
  max_body: size().default(4 * 1024 * 1024).describe("Largest accepted body (413 above)."),
  auth_token: string().optional().describe(
    "Bearer token accepted on this path (401 otherwise), besides http.auth tokens with scope " +
      "ingest. Use ${ENV} to keep it out of the file.",
    "${INGEST_TOKEN}",
  ),
}).check((c) =>
  c.key === undefined && c.key_header === undefined
    ? "needs key (a dotted path into the payload) or key_header"
    : c.key !== undefined && c.key_header !== undefined
    ? "give key or key_header, not both"
    : undefined
);

export type HttpSourceConfig = Infer<typeof spec>;

const JSON_TYPES = new Set(["application/json", "text/json"]);
const NDJSON_TYPES = new Set([
  "application/x-ndjson",
  "application/ndjson",
  "application/jsonl",
  "application/x-jsonlines",
]);

/** A request that must be refused, with the status and one-line JSON error to send. */
class Refusal {
  constructor(readonly status: number, readonly message: string, readonly extra = {}) {}
}

export class HttpSource implements Source {
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing = false;
  readonly #requests;
  readonly #messages;
  readonly #statusCounters = new Map<number, BoundCounter>();
  readonly #bytes;
  /** Logs a failed commit, which repeats on every request while, say, the disk is full. */
  readonly #notStored;

  constructor(
    readonly name: string,
    readonly config: HttpSourceConfig,
    readonly ctx: SourceContext,
  ) {
    this.#requests = ctx.metrics.counter(
      "litejoin_source_http_requests_total",
      "HTTP ingest requests by source and response status.",
    );
    this.#messages = ctx.metrics.counter(
      "litejoin_source_messages_total",
      "Messages committed to topics, by source.",
    ).bind({ source: name });
    this.#bytes = ctx.metrics.counter(
      "litejoin_source_received_bytes_total",
      "Bytes of request bodies read by HTTP sources, by source.",
    ).bind({ source: name });
    this.#notStored = throttled((message) => ctx.log.error(message), 10_000, () => ctx.clock.now());
  }

  start(): Promise<void> {
    this.ctx.http.route("POST", this.config.path, (request) => this.#track(this.#handle(request)), {
      access: "ingest",
      tokens: this.config.auth_token === undefined ? [] : [this.config.auth_token],
      maxBody: this.config.max_body,
    });
    this.ctx.log.info(`accepting POST ${this.config.path} into topic ${this.config.topic}`);
    return Promise.resolve();
  }

  #track(work: Promise<Response>): Promise<Response> {
    this.#inFlight.add(work);
    work.finally(() => this.#inFlight.delete(work));
    return work;
  }

  async #handle(request: Request): Promise<Response> {
    let response: Response;
    try {
      if (this.#closing) {
        throw new Refusal(503, "shutting down; retry against the restarted engine");
      }
      const messages = this.#parse(await this.#body(request), request);
      await this.ctx.writer.write(messages);
      this.#messages.inc(messages.length);
      response = Response.json({ accepted: messages.length }, { status: 202 });
    } catch (error) {
      response = this.#refuse(error);
    }
    let counter = this.#statusCounters.get(response.status);
    if (!counter) {
      counter = this.#requests.bind({ source: this.name, code: String(response.status) });
      this.#statusCounters.set(response.status, counter);
    }
    counter.inc();
    return response;
  }

  #refuse(error: unknown): Response {
    if (error instanceof Refusal) return jsonError(error.status, error.message, error.extra);
    if (error instanceof BacklogError) {
      const response = jsonError(503, error.message);
      response.headers.set("retry-after", "1");
      return response;
    }
    this.#notStored(`messages not stored: ${(error as Error).message}`);
    return jsonError(503, `not stored: ${(error as Error).message}; nothing was accepted, retry`);
  }

  async #body(request: Request): Promise<{ text: string; ndjson: boolean }> {
    const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    const ndjson = NDJSON_TYPES.has(type);
    if (type !== "" && !ndjson && !JSON_TYPES.has(type)) {
      throw new Refusal(
        415,
        `content type ${type} is not accepted; send application/json or application/x-ndjson`,
      );
    }
    const limit = this.config.max_body;
    const declared = Number(request.headers.get("content-length") ?? NaN);
    if (declared > limit) {
      throw new Refusal(413, `body of ${declared} bytes is over max_body (${limit})`);
    }
    const bytes = await readLimited(request, limit);
    if (!bytes) throw new Refusal(413, `body is over max_body (${limit} bytes)`);
    this.#bytes.inc(bytes.length);
    const decoded = decodeUtf8(bytes);
    if ("invalidAt" in decoded) {
      throw new Refusal(
        400,
        `body is not valid UTF-8 at byte ${decoded.invalidAt}; send JSON encoded as UTF-8`,
        { byte: decoded.invalidAt },
      );
    }
    return { text: decoded.text, ndjson };
  }

  #parse(body: { text: string; ndjson: boolean }, request: Request): Message[] {
    const items = body.ndjson ? parseNdjson(body.text) : parseJson(body.text);
    if (items.length === 0) throw new Refusal(400, "the body holds no messages");
    const headerKey = this.config.key_header
      ? keyOf(request.headers.get(this.config.key_header) ?? "")
      : undefined;
    if (this.config.key_header && headerKey === undefined) {
      throw new Refusal(400, `header ${this.config.key_header} with the key is missing or empty`);
    }
    const now = this.ctx.clock.now();
    const messages: Message[] = new Array(items.length);
    for (let index = 0; index < items.length; index++) {
      const payload = items[index];
      if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
        throw new Refusal(400, `item ${index} is not a JSON object`, { index });
      }
      // Only a body of over 2 × MAX_JSON_DEPTH characters can nest that deep.
      if (body.text.length > 2 * MAX_JSON_DEPTH && nestedDeeperThan(payload)) {
        throw new Refusal(400, `item ${index} is ${tooDeepMessage()}; nothing was stored`, {
          index,
        });
      }
      const key = headerKey ?? keyOf(getPath(payload, this.config.key!));
      if (key === undefined) {
        throw new Refusal(
          400,
          `item ${index} has no key at "${this.config.key}" (a non-empty string or number); nothing was stored`,
          { index, field: this.config.key },
        );
      }
      messages[index] = {
        topic: this.config.topic,
        key,
        payload: payload as Record<string, unknown>,
        timestamp: now,
      };
    }
    return messages;
  }

  async stop(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#inFlight]);
  }
}

/** The body, or undefined as soon as it grows past `limit` bytes. */
async function readLimited(request: Request, limit: number): Promise<Uint8Array | undefined> {
  if (!request.body) return new Uint8Array();
  if (request.headers.has("content-length")) {
    // Declared and within the limit (checked by the caller): read it in one go.
    return new Uint8Array(await request.arrayBuffer());
  }
  return await readAtMost(request.body, limit);
}

function parseJson(text: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const p = findJsonProblem(text);
    throw new Refusal(400, `malformed JSON at line ${p.line} column ${p.column}: ${p.message}`, {
      line: p.line,
      column: p.column,
    });
  }
  return Array.isArray(value) ? value : [value];
}

function parseNdjson(text: string): unknown[] {
  const items: unknown[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "") continue;
    try {
      items.push(JSON.parse(line));
    } catch {
      const p = findJsonProblem(line);
      throw new Refusal(
        400,
        `malformed JSON on NDJSON line ${i + 1} column ${p.column}: ${p.message}`,
        {
          line: i + 1,
          column: p.column,
        },
      );
    }
  }
  return items;
}
