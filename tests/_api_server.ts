/**
 * A real REST API on a free local port for the API source's tests and benchmark. It
 * serves one data set paginated in four styles, records every request it receives,
 * and misbehaves on demand.
 *
 *   GET /cursor?cursor=…   {"data": [...], "meta": {"next_cursor": "…" | null}}
 *   GET /link?after=…      [...] with Link: </link?after=…>; rel="next" while more remain
 *   GET /page?page=N       {"results": [...], "page": N}         (pages from 1)
 *   GET /offset?offset=O&limit=L  {"items": [...], "total": T}  (L capped at pageSize)
 *
 * Every route filters on `since` (items whose updated_at >= since) when given. Data set
 * with `set()` is adopted by the next request for a first page, so each poll reads one
 * version even while the test stages the next.
 */

export type ApiRecord = Record<string, unknown>;

/** What to answer instead of the real page; null answers the real page. */
export type Fault =
  | null
  | { status: number; body?: string; headers?: Record<string, string> }
  | { delayMs: number }
  | { raw: string; contentType?: string }
  | { json: unknown };

export interface LoggedRequest {
  /** `performance.now()` when the server received it. */
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Headers;
  body: string;
  /** The status answered (0 until answered). */
  status: number;
}

export interface ApiServer {
  url: string;
  /** Items per page (and the cap on `limit`). */
  pageSize: number;
  /** Stages the next data set: the next request for a first page adopts it. */
  set(records: ApiRecord[]): void;
  /** Answers for the next requests, in order, instead of their pages. */
  faults: Fault[];
  log: LoggedRequest[];
  /** Makes requests wait until the returned function is called. */
  hold(): () => void;
  stop(): Promise<void>;
}

export function startApiServer(
  records: ApiRecord[],
  opts: { pageSize?: number } = {},
): Promise<ApiServer> {
  let current = records;
  let staged: ApiRecord[] | undefined;
  let held: Promise<void> | undefined;
  const server: ApiServer = {
    url: "",
    pageSize: opts.pageSize ?? 100,
    set: (next) => staged = structuredClone(next),
    faults: [],
    log: [],
    hold() {
      const gate = Promise.withResolvers<void>();
      held = gate.promise;
      return () => {
        held = undefined;
        gate.resolve();
      };
    },
    stop: () => http.shutdown(),
  };

  const page = (url: URL): Response => {
    const q = url.searchParams;
    const first = !(q.get("cursor") || q.get("after") || Number(q.get("page") ?? 1) > 1 ||
      Number(q.get("offset") ?? 0) > 0);
    if (first && staged) [current, staged] = [staged, undefined];
    const since = q.get("since");
    const data = since === null ? current : current.filter((r) => String(r.updated_at) >= since);
    const size = server.pageSize;
    switch (url.pathname) {
      case "/cursor": {
        const from = Number((q.get("cursor") ?? "c0").slice(1));
        const items = data.slice(from, from + size);
        const next = from + size < data.length ? `c${from + size}` : null;
        return Response.json({ data: items, meta: { next_cursor: next } });
      }
      case "/link": {
        const from = Number(q.get("after") ?? 0);
        const items = data.slice(from, from + size);
        const headers = new Headers();
        if (from + size < data.length) {
          const next = new URLSearchParams(q);
          next.set("after", String(from + size));
          headers.set("link", `</link?${next}>; rel="next", </link>; rel="first"`);
        }
        return Response.json(items, { headers });
      }
      case "/page": {
        const n = Number(q.get("page") ?? 1);
        return Response.json({ results: data.slice((n - 1) * size, n * size), page: n });
      }
      case "/offset": {
        const from = Number(q.get("offset") ?? 0);
        const limit = Math.min(Number(q.get("limit") ?? size), size);
        return Response.json({ items: data.slice(from, from + limit), total: data.length });
      }
    }
    return Response.json({ error: "not found" }, { status: 404 });
  };

  const answer = async (url: URL): Promise<Response> => {
    if (held) await held;
    const fault = server.faults.shift();
    if (fault === undefined || fault === null) return page(url);
    if ("status" in fault) {
      return new Response(fault.body ?? "", { status: fault.status, headers: fault.headers });
    }
    if ("raw" in fault) {
      return new Response(fault.raw, {
        headers: { "content-type": fault.contentType ?? "text/html" },
      });
    }
    if ("json" in fault) return Response.json(fault.json);
    await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    return page(url);
  };

  let http: Deno.HttpServer;
  return new Promise((resolve) => {
    http = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: ({ port }) => {
        server.url = `http://127.0.0.1:${port}`;
        resolve(server);
      },
    }, async (request) => {
      const url = new URL(request.url);
      const entry: LoggedRequest = {
        at: performance.now(),
        method: request.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: request.headers,
        body: await request.text(),
        status: 0,
      };
      server.log.push(entry);
      const response = await answer(url);
      entry.status = response.status;
      return response;
    });
  });
}

/** `n` user records `u1…un` with a name and an updated_at that sorts as text. */
export function users(n: number, from = 1): ApiRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `u${from + i}`,
    name: `user ${from + i}`,
    plan: (from + i) % 3 ? "free" : "pro",
    updated_at: `2026-01-01T00:00:00.${String(from + i).padStart(6, "0")}Z`,
  }));
}
