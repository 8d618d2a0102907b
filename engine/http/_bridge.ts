/**
 * Between `node:http` and the web's Request and Response: handlers see a `Request`
 * and return a `Response`, as they did under `Deno.serve`; the listener is node's,
 * which has the header, request and keep-alive timeouts that `Deno.serve` lacks.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** A request body that grew past its route's limit while being read. */
export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body is over ${limit} bytes`);
    this.name = "BodyTooLarge";
  }
}

/**
 * The web `Request` of `req`, or undefined when its target is not a URL. The body,
 * when there is one, is read on demand and errors with `BodyTooLarge` past `maxBody`.
 */
export function toRequest(
  req: IncomingMessage,
  origin: string,
  maxBody: number,
): Request | undefined {
  const headers = new Headers();
  const raw = req.rawHeaders;
  try {
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  } catch {
    return undefined; // a header value fetch's Headers refuses
  }
  const target = req.url ?? "/";
  let url: string;
  try {
    url = target.startsWith("/") ? origin + target : new URL(target).href;
  } catch {
    return undefined;
  }
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  try {
    return new Request(url, {
      method,
      headers,
      body: hasBody ? bodyOf(req, maxBody) : undefined,
      // @ts-ignore: needed for a streamed body, missing from Deno's RequestInit type
      duplex: "half",
    });
  } catch {
    return undefined;
  }
}

function bodyOf(req: IncomingMessage, maxBody: number): ReadableStream<Uint8Array> {
  let total = 0;
  let iterator: AsyncIterator<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      iterator ??= req[Symbol.asyncIterator]();
      const { done, value } = await iterator.next();
      if (done) return controller.close();
      total += value.length;
      if (total > maxBody) return controller.error(new BodyTooLarge(maxBody));
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
    // A body already in memory (JSON, an error) is sent whole, with its length; a
    // stream's headers go out at once, before its first chunk.
    const reading = reader.read();
    if (await later(reading)) res.flushHeaders();
    const first = await reading;
    if (first.done) return void res.end();
    let next: Promise<ReadableStreamReadResult<Uint8Array>> | undefined = reader.read();
    const soon = await Promise.race([next, macrotask()]);
    if (soon !== LATER && soon.done && !res.headersSent && !res.hasHeader("content-length")) {
      res.setHeader("content-length", first.value.byteLength);
      return void res.end(first.value);
    }
    let chunk: Uint8Array | undefined = first.value;
    while (true) {
      if (res.destroyed) return;
      if (!res.write(chunk) && !(await drained(res, stallMs))) {
        res.destroy();
        return;
      }
      const { done, value } = await (next ?? reader.read());
      next = undefined;
      if (done) break;
      chunk = value;
    }
    res.end();
  } catch (error) {
    if (!res.destroyed) res.destroy(error as Error);
  } finally {
    res.off("close", gone);
    if (res.destroyed) reader.cancel().catch(() => {});
  }
}

const LATER = Symbol("later");
const macrotask = () => new Promise<typeof LATER>((r) => setTimeout(r, 0, LATER));

/** Whether `promise` is still pending after the current macrotask. */
async function later(promise: Promise<unknown>): Promise<boolean> {
  return (await Promise.race([promise.then(() => undefined), macrotask()])) === LATER;
}

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
