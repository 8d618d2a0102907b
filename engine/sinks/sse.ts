/**
 * Server-Sent Events sink: `GET <path>` streams every changed result as one event, and
 * `GET <path>/snapshot` returns the current state of the result sets with the id to
 * stream from. A page that loads the snapshot and then streams from its id sees every
 * change exactly once.
 *
 * - `id` is a sequence number that only grows, across restarts too: the state, the
 *   last `replay_buffer` events and the sequence live in `<data_dir>/sse_<name>.db`.
 * - `event` is the join or window name; `data` is the result `{name, key, row,
 *   timestamp, _change}` as JSON.
 * - A client resumes with `Last-Event-ID` (or `?last_event_id=` on its first request).
 *   One that cannot (too old, or from a state that was deleted) gets `event: reset`
 *   and must re-hydrate from the snapshot; so does a client that falls behind the
 *   replay buffer while connected, after which its stream ends.
 * - Heartbeat comments keep proxies from closing idle streams.
 */
import { type Infer, integer, object } from "../schema/schema.ts";
import { deliveryFields, httpPath } from "../schema/common.ts";
import { duration, size } from "../schema/units.ts";
import { jsonError } from "../http/server.ts";
import type { Result } from "../types.ts";
import { type CarriedSet, DeliveryError, type Sink, type SinkContext } from "./sink.ts";

export type { CarriedSet };
import { SseStore } from "./_sse_store.ts";
import { type Departure, Hub } from "./_sse_hub.ts";

export const spec = object({
  path: httpPath().check((p) =>
    p.length > 1 && p.endsWith("/")
      ? `${JSON.stringify(p)} must not end with / (write ${p.replace(/\/+$/, "")})`
      : undefined
  )
    .describe(
      "URL path of the event stream; the snapshot is at <path>/snapshot.",
      "/stream/orders",
    ),
  replay_buffer: integer({ min: 1, max: 10_000_000 }).default(10_000).describe(
    "Events kept (in memory and in <data_dir>/sse_<name>.db) for clients that resume with " +
      "Last-Event-ID.",
  ),
  client_buffer: size().default(256 * 1024).describe(
    "Bytes queued for one client beyond what its connection has taken; past that the client " +
      "reads on from the replay buffer; a client that falls out of it is cut off with event: reset.",
  ),
  heartbeat: duration().default(15_000).describe(
    "Interval of heartbeat comments (: heartbeat), so that proxies keep idle streams open; 0: none.",
  ),
  retry: duration().default(1000).describe("Reconnect delay suggested to browsers (SSE retry)."),
  max_clients: integer({ min: 1 }).default(10_000).describe(
    "Concurrent streams; more are answered 503.",
  ),
  ...deliveryFields(),
});

export type SseSinkConfig = Infer<typeof spec>;

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};
const ENCODER = new TextEncoder();

export class SseSink implements Sink {
  readonly file: string;
  readonly #store: SseStore;
  readonly #hub: Hub;
  #feeds: string[] = [];
  #stopping = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #metrics;

  constructor(readonly name: string, readonly config: SseSinkConfig, readonly ctx: SinkContext) {
    this.file = `${ctx.dataDir}/sse_${name}.db`;
    try {
      this.#store = new SseStore(this.file, config.replay_buffer, ctx.clock.now() * 1000);
    } catch (error) {
      throw new Error(
        `cannot open the state of SSE sink ${name} (${this.file}): ${(error as Error).message}`,
      );
    }
    const m = ctx.metrics;
    const labels = { sink: name };
    this.#metrics = {
      events: m.counter("litejoin_sse_events_total", "Events published, by SSE sink.").bind(labels),
      sentEvents: m.counter(
        "litejoin_sse_sent_events_total",
        "Events written to client streams (one per client per event), by SSE sink.",
      ).bind(labels),
      sentBytes: m.counter("litejoin_sse_sent_bytes_total", "Bytes of events written to clients.")
        .bind(labels),
      connections: m.counter("litejoin_sse_connections_total", "Streams opened, by SSE sink.")
        .bind(labels),
      disconnects: m.counter(
        "litejoin_sse_disconnects_total",
        "Streams ended, by SSE sink and reason: client (went away), lagging (cut off: fell " +
          "behind the replay buffer), shutdown.",
      ),
      resets: m.counter(
        "litejoin_sse_resets_total",
        "Clients told to re-hydrate from the snapshot when they connected, by SSE sink.",
      ).bind(labels),
      snapshots: m.counter("litejoin_sse_snapshots_total", "Snapshots served, by SSE sink.")
        .bind(labels),
    };
    for (const reason of ["client", "lagging", "shutdown"] satisfies Departure[]) {
      this.#metrics.disconnects.bind({ sink: name, reason }); // present at 0 from the start
    }
    const gauge = (metric: string, help: string, read: () => number) => {
      const g = m.gauge(metric, help);
      g.collect(() => g.set(labels, read()));
    };
    gauge("litejoin_sse_clients", "Open streams, by SSE sink.", () => this.#hub.clients);
    gauge("litejoin_sse_results", "Results in the snapshot state.", () => this.#store.size);
    gauge("litejoin_sse_replay_events", "Events kept for resuming.", () => this.#hub.kept);

    this.#hub = new Hub(this.#store.seq, this.#store.events(), {
      replay: config.replay_buffer,
      clientBuffer: config.client_buffer,
      retryMs: config.retry,
      reset: (reason) => this.#resetFrame(reason),
    }, {
      sent: (events, bytes) => {
        this.#metrics.sentEvents.inc(events);
        this.#metrics.sentBytes.inc(bytes);
      },
      departed: (reason, count, detail) => this.#departed(reason, count, detail),
    });
    const read = { access: "read" } as const;
    ctx.http.route("GET", config.path, (request) => this.#stream(request), read);
    ctx.http.route("GET", `${config.path}/snapshot`, (request) => this.#snapshot(request), read);
    ctx.http.onStop(() => this.#stopStreams());
  }

  /** The id of the last event: where a snapshot taken now would resume. */
  get head(): number {
    return this.#hub.head;
  }

  get clients(): number {
    return this.#hub.clients;
  }

  /**
   * Declares the result sets that feed this sink (call before results flow). A set it
   * carried before and no longer does is removed, with delete events; a join it has
   * not carried before is seeded from its current result, so that a sink added to a
   * running pipeline starts with a complete snapshot.
   */
  async carry(sets: CarriedSet[]): Promise<void> {
    const wanted = new Set(sets.map((s) => s.name));
    const now = this.ctx.clock.now();
    const retired: Result[] = [];
    for (const name of new Set([...this.#store.carried, ...this.#store.state.keys()])) {
      if (wanted.has(name)) continue;
      for (const key of this.#store.state.get(name)?.keys() ?? []) {
        retired.push({ name, key, row: {}, timestamp: now, _change: { op: "delete" } });
      }
    }
    if (retired.length) {
      await this.send(retired);
      this.ctx.log.info(`removed ${retired.length} result(s) of sets no longer fed to this sink`);
    }
    for (const set of sets) {
      if (this.#store.carried.has(set.name) || !set.current) continue;
      let results: Result[];
      try {
        results = await set.current();
      } catch (error) {
        // Not fatal: the set fills as results arrive, and seeding is tried again next start.
        wanted.delete(set.name);
        this.ctx.log.warn(
          `cannot seed ${set.name} from its current result: ${(error as Error).message}`,
        );
        continue;
      }
      const events = this.#store.apply(results);
      this.#hub.publish(events);
      this.#metrics.events.inc(events.length);
      if (events.length) this.ctx.log.info(`seeded ${events.length} result(s) of ${set.name}`);
    }
    this.#store.setCarried(wanted);
    for (const set of sets) wanted.add(set.name);
    this.#feeds = [...wanted];
  }

  send(results: readonly Result[]): Promise<void> {
    let events;
    try {
      events = this.#store.apply(results);
    } catch (error) {
      return Promise.reject(
        new DeliveryError(`writing ${this.file} failed: ${(error as Error).message}`, {
          cause: error,
        }),
      );
    }
    this.#hub.publish(events);
    this.#metrics.events.inc(events.length);
    return Promise.resolve();
  }

  #stream(request: Request): Response {
    if (this.#stopping) {
      const response = jsonError(503, "the engine is stopping; reconnect to the restarted engine");
      response.headers.set("retry-after", "1");
      return response;
    }
    if (request.method === "HEAD") return new Response(null, { headers: SSE_HEADERS });
    if (this.#hub.clients >= this.config.max_clients) {
      return jsonError(503, `too many clients (max_clients is ${this.config.max_clients})`);
    }
    const raw = request.headers.get("last-event-id") ??
      new URL(request.url).searchParams.get("last_event_id");
    let from: number | undefined;
    if (raw !== null && raw.trim() !== "") {
      from = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      const why = Number.isNaN(from)
        ? `event id ${JSON.stringify(raw)} is not an id of this stream`
        : this.#hub.cannotResume(from);
      if (why) {
        this.#metrics.resets.inc();
        const body = `retry: ${this.config.retry}\n\n${
          new TextDecoder().decode(this.#resetFrame(why))
        }`;
        return new Response(body, { headers: SSE_HEADERS });
      }
    }
    this.#metrics.connections.inc();
    this.#heartbeats();
    return new Response(this.#hub.connect(from), { headers: SSE_HEADERS });
  }

  #snapshot(request: Request): Response {
    this.#metrics.snapshots.inc();
    const headers = { "content-type": "application/json", "cache-control": "no-store" };
    if (request.method === "HEAD") return new Response(null, { headers });
    return new Response(this.#store.snapshot(this.#feeds), { headers });
  }

  #resetFrame(reason: string): Uint8Array {
    const data = JSON.stringify({ reason, snapshot: `${this.config.path}/snapshot` });
    return ENCODER.encode(`event: reset\ndata: ${data}\n\n`);
  }

  #departed(reason: Departure, count: number, detail: string): void {
    this.#metrics.disconnects.inc({ sink: this.name, reason }, count);
    if (reason === "lagging") {
      this.ctx.log.warn(`${count} slow client(s) disconnected: ${detail}`);
    }
  }

  /** Heartbeats run while there are clients. */
  #heartbeats(): void {
    if (this.#timer !== undefined || this.config.heartbeat === 0) return;
    this.#timer = setInterval(() => {
      if (this.#hub.clients === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
        return;
      }
      this.#hub.heartbeat();
    }, this.config.heartbeat);
  }

  #stopStreams(): void {
    this.#stopping = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#hub.closeAll();
  }

  close(): Promise<void> {
    this.#stopStreams();
    this.#store.close();
    return Promise.resolve();
  }
}
