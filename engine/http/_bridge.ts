/**
 * Between `node:http` and the web's Request and Response: handlers see a `Request`
 * and return a `Response`, as they did under `Deno.serve`; the listener is node's,
 * which has the header, request and keep-alive timeouts that `Deno.serve` lacks.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** A request body that grew past its route's limit while being read. */
export class BodyTooLarge extends Error {
  /** `declared`: the Content-Length, when it alone is over. */
  constructor(readonly limit: number, readonly declared?: number) {
    super(`request body is over ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

/** The client went away before its request body arrived. */
export class ClientGone extends Error {
  constructor() {
    super("the client closed the connection before sending its body");
    this.name = "ClientGone";
  }
}

/**
 * The web `Request` of `req` without its body (enough to route and authenticate it),
 * or undefined when its target or headers are not valid.
 */
export function requestHead(req: IncomingMessage, origin: string): Request | undefined {
  const headers = new Headers();
  const raw = req.rawHeaders;
  try {
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
    const target = req.url ?? "/";
    const url = target.startsWith("/") ? origin + target : new URL(target).href;
    return new Request(url, { method: req.method ?? "GET", headers });
  } catch {
    return undefined; // a target that is not a URL, a header value fetch refuses
  }
}

/**
 * `head` with the body of `req` (called once the request is authorised). A body of
 * at most `maxBody` bytes is read first, in one piece; past it, or with a larger
 * Content-Length (GET and HEAD too, whose bodies are dropped): `BodyTooLarge`. A route
 * with `ownLimit` instead gets one byte more than its limit, to see it is over, or,
 * when the declared length is already over, a stream to read as it likes.
 */
export async function withBody(
  head: Request,
  req: IncomingMessage,
  maxBody: number,
  ownLimit: boolean,
): Promise<Request> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > maxBody && !ownLimit) throw new BodyTooLarge(maxBody, declared);
  if (head.method === "GET" || head.method === "HEAD") return head; // a body is dropped
  let body: BodyInit;
  if (declared > maxBody) {
    body = bodyOf(req);
  } else {
    const read = await collect(req, maxBody);
    if (read.over && !ownLimit) throw new BodyTooLarge(maxBody);
    body = read.bytes as Uint8Array<ArrayBuffer>;
  }
  // @ts-ignore: duplex is needed for a streamed body, and missing from Deno's RequestInit
  return new Request(head, { body, duplex: "half" });
}

/** The body, up to the first `limit` + 1 bytes (then `over`, and reading stops there). */
function collect(
  req: IncomingMessage,
  limit: number,
): Promise<{ bytes: Uint8Array; over: boolean }> {
  if (req.complete) return Promise.resolve({ bytes: new Uint8Array(), over: false });
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const finish = (over: boolean) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      if (over) req.pause();
      const bytes = chunks.length === 1 ? chunks[0] : new Uint8Array(total);
      if (chunks.length !== 1) {
        let at = 0;
        for (const chunk of chunks) {
          bytes.set(chunk, at);
          at += chunk.length;
        }
      }
      resolve({ bytes, over });
    };
    const onData = (chunk: Uint8Array) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total > limit) finish(true);
    };
    const onEnd = () => finish(false);
    const onClose = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      if (!req.complete) reject(new ClientGone());
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("close", onClose);
  });
}

/** The body as a stream, for a handler that reads as much of it as it likes. */
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      iterator ??= req[Symbol.asyncIterator]();
      const { done, value } = await iterator.next();
      if (done) return controller.close();
      controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    },
    cancel() {
      req.resume(); // the rest is drained by `drainRest`'s bound
    },
  });
}

/** Bytes of an unread body dropped after the response before the connection is cut. */
const DRAIN_ALLOWANCE = 1024 * 1024;

/**
 * After the response: a body the handler did not read (a 413, say) is read and
 * dropped, so that the client sees the answer rather than a reset; the connection is
 * cut once more than `maxBody` + 1 MiB of it arrive.
 */
export function drainRest(req: IncomingMessage, maxBody: number): void {
  if (req.complete || req.destroyed) return;
  let total = 0;
  req.on("data", (chunk: Uint8Array) => {
    total += chunk.length;
    if (total > maxBody + DRAIN_ALLOWANCE) req.socket.destroy();
  });
  req.resume();
}

/**
 * Writes `response` to `res`, following the socket's pace: a chunk is read from the
 * body only once the previous one was taken. A client that takes nothing for
 * `stallMs` is disconnected; a client that goes away cancels the body (so an event
 * stream learns of it).
 */
export async function writeResponse(
  res: ServerResponse,
  response: Response,
  stallMs: number,
): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (name === "set-cookie") continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length) res.setHeader("set-cookie", cookies);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  const gone = () => {
    if (!res.writableFinished) reader.cancel().catch(() => {});
  };
  res.on("close", gone);
  try {
    const type = response.headers.get("content-type") ?? "";
    const chunks: Uint8Array[] = [];
    if (type.startsWith("text/event-stream")) {
      res.flushHeaders(); // the client learns at once that the stream is open
    } else if (!res.hasHeader("content-length")) {
      // A small body (JSON, an error) is sent whole, with its length; a larger one is
      // streamed once it has passed WHOLE_BODY bytes.
      let total = 0;
      while (total <= WHOLE_BODY) {
        const { done, value } = await reader.read();
        if (done) {
          const whole = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
          res.setHeader("content-length", whole.byteLength);
          return void res.end(whole);
        }
        chunks.push(value);
        total += value.byteLength;
      }
    }
    let chunk: Uint8Array | undefined;
    while (true) {
      if (chunks.length) chunk = chunks.shift()!;
      else {
        const { done, value } = await reader.read();
        if (done) break;
        chunk = value;
      }
      if (res.destroyed) return;
      if (!res.write(chunk) && !(await drained(res, stallMs))) {
        res.destroy();
        return;
      }
    }
    res.end();
  } catch (error) {
    if (!res.destroyed) res.destroy(error as Error);
  } finally {
    res.off("close", gone);
    if (res.destroyed) reader.cancel().catch(() => {});
  }
}

/** Bodies up to this size without a content-length are sent whole, with one. */
const WHOLE_BODY = 64 * 1024;

/** Resolves true once `res` drains, false after `ms` without it or when it closes. */
function drained(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}
