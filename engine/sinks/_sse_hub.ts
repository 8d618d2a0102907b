/**
 * The fan-out of one SSE sink: a replay buffer of encoded events shared by every
 * client, and per client a cursor into it and a stream whose queue is bounded in
 * bytes. Publishing never waits for a client. A client whose queue is full stops
 * receiving; it reads on from the shared buffer (its stream pulls) once its connection
 * drains, and is disconnected with a reset event if it falls out of the buffer.
 */
import type { StoredEvent } from "./_sse_store.ts";
import { concatBytes } from "../bytes.ts";

const ENCODER = new TextEncoder();

interface Frame {
  seq: number;
  bytes: Uint8Array;
}

/** Why a client went away: `client` is the client's own doing; the others are ours. */
export type Departure = "client" | "lagging" | "shutdown";

export interface HubEvents {
  sent(events: number, bytes: number): void;
  departed(reason: Departure, count: number, detail: string): void;
}

class Client {
  controller!: ReadableStreamDefaultController<Uint8Array>;
  constructor(public cursor: number) {}
}

/** The SSE encoding of one event. */
export function frameOf(event: StoredEvent): Uint8Array {
  const data = event.data.includes("\n") ? event.data.replaceAll("\n", "\ndata: ") : event.data;
  return ENCODER.encode(`id: ${event.seq}\nevent: ${event.name}\ndata: ${data}\n\n`);
}

export class Hub {
  #frames: Frame[] = [];
  #start = 0;
  #head: number;
  readonly #clients = new Set<Client>();
  readonly #hello: Uint8Array;
  static readonly HEARTBEAT = ENCODER.encode(": heartbeat\n\n");

  /** `head` is the id of the last event; `kept` are the newest events, oldest first. */
  constructor(
    head: number,
    kept: StoredEvent[],
    readonly opts: {
      replay: number;
      clientBuffer: number;
      retryMs: number;
      /** The event telling a client to re-hydrate from the snapshot, and why. */
      reset: (reason: string) => Uint8Array;
    },
    readonly events: HubEvents,
  ) {
    this.#head = head;
    this.#frames = kept.map((e) => ({ seq: e.seq, bytes: frameOf(e) }));
    this.#hello = ENCODER.encode(`retry: ${opts.retryMs}\n\n`);
  }

  get clients(): number {
    return this.#clients.size;
  }

  get head(): number {
    return this.#head;
  }

  /** Events kept for resuming clients. */
  get kept(): number {
    return this.#frames.length - this.#start;
  }

  /** The id of the oldest kept event, or `head + 1` when none is kept. */
  get oldest(): number {
    return this.kept ? this.#frames[this.#start].seq : this.#head + 1;
  }

  /**
   * Why a client that last saw event `from` cannot resume, or undefined if it can: it
   * is ahead of this stream (another incarnation of the state), or older than the
   * replay buffer.
   */
  cannotResume(from: number): string | undefined {
    if (from > this.#head) {
      return `event id ${from} is not from this stream (the last is ${this.#head})`;
    }
    if (from < this.oldest - 1) {
      return `event id ${from} is older than the replay buffer (oldest kept: ${this.oldest})`;
    }
    return undefined;
  }

  /** A stream of the events after `from` (live only when undefined), then new ones. */
  connect(from: number | undefined): ReadableStream<Uint8Array> {
    const client = new Client(from ?? this.#head);
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        client.controller = controller;
        controller.enqueue(this.#hello);
        this.#clients.add(client);
      },
      pull: () => this.#feed(client),
      cancel: () => {
        if (this.#clients.delete(client)) this.events.departed("client", 1, "");
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: this.opts.clientBuffer }));
  }

  /** Appends events (ids must follow on from `head`) and sends them to every client with room. */
  publish(events: StoredEvent[]): void {
    if (events.length === 0) return;
    const first = events[0].seq;
    const frames = events.map((e) => ({ seq: e.seq, bytes: frameOf(e) }));
    for (const frame of frames) this.#frames.push(frame);
    this.#head = events[events.length - 1].seq;
    this.#evict();
    const batch = frames.length === 1 ? frames[0].bytes : concatBytes(frames.map((f) => f.bytes));
    const lagging: Client[] = [];
    for (const client of this.#clients) {
      if (client.cursor + 1 < this.oldest) {
        lagging.push(client);
      } else if ((client.controller.desiredSize ?? 0) > 0) {
        if (client.cursor === first - 1) {
          // The cursor moves first: enqueue may call pull, which reads from the cursor.
          client.cursor = this.#head;
          client.controller.enqueue(batch);
          this.events.sent(frames.length, batch.byteLength);
        } else {
          this.#feed(client);
        }
      }
    }
    if (lagging.length) {
      this.#drop(
        lagging,
        "lagging",
        `fell more than ${this.opts.replay} events behind (replay_buffer); ` +
          "they resume from their last event id, or re-hydrate",
      );
    }
  }

  /** Sends a heartbeat comment to every client with room in its queue. */
  heartbeat(): void {
    for (const client of this.#clients) {
      if ((client.controller.desiredSize ?? 0) > 0) client.controller.enqueue(Hub.HEARTBEAT);
    }
  }

  /** Ends every stream (clients reconnect by themselves, with their last event id). */
  closeAll(): void {
    const all = [...this.#clients];
    this.#clients.clear();
    for (const client of all) {
      try {
        client.controller.close();
      } catch { /* already closed */ }
    }
    if (all.length) this.events.departed("shutdown", all.length, "the engine is stopping");
  }

  /** Fills the client's queue from the replay buffer, up to its free room. */
  #feed(client: Client): void {
    if (!this.#clients.has(client) || client.cursor >= this.#head) return;
    const from = client.cursor + 1 - this.#frames[this.#start]?.seq + this.#start;
    if (!(from >= this.#start)) {
      this.#drop([client], "lagging", `fell behind the replay buffer (${this.opts.replay} events)`);
      return;
    }
    let room = client.controller.desiredSize ?? 0;
    const picked: Uint8Array[] = [];
    let bytes = 0;
    let i = from;
    for (; i < this.#frames.length && (picked.length === 0 || room > 0); i++) {
      picked.push(this.#frames[i].bytes);
      room -= this.#frames[i].bytes.byteLength;
      bytes += this.#frames[i].bytes.byteLength;
    }
    client.cursor = this.#frames[i - 1].seq;
    client.controller.enqueue(picked.length === 1 ? picked[0] : concatBytes(picked));
    this.events.sent(picked.length, bytes);
  }

  /**
   * Ends the streams of `clients` after what they have queued and a reset event. (An
   * errored stream would not end the connection any sooner: Deno still flushes what
   * it has taken, and would log the error as a failed request.)
   */
  #drop(clients: Client[], reason: Departure, detail: string): void {
    const reset = this.opts.reset(detail);
    for (const client of clients) {
      this.#clients.delete(client);
      try {
        client.controller.enqueue(reset);
        client.controller.close();
      } catch { /* already closed */ }
    }
    this.events.departed(reason, clients.length, detail);
  }

  #evict(): void {
    const excess = this.kept - this.opts.replay;
    if (excess <= 0) return;
    this.#start += excess;
    if (this.#start > 1024 && this.#start * 2 > this.#frames.length) {
      this.#frames = this.#frames.slice(this.#start);
      this.#start = 0;
    }
  }
}
