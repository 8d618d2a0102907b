/**
 * An SSE client for tests and benchmarks, written from the EventSource processing
 * rules (https://html.spec.whatwg.org/multipage/server-sent-events.html), and a view
 * that hydrates from a sink's snapshot and follows its stream, as a page would.
 */

export interface SseEvent {
  id: string;
  event: string;
  data: string;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  retry: number | undefined;
  /** The last id seen, as EventSource keeps it. */
  lastId = "";
  /** Resolves when the server ends the stream (or `close` is called). */
  readonly done: Promise<void>;
  onEvent: (event: SseEvent) => void = () => {};
  readonly #abort = new AbortController();

  private constructor(readonly response: Response) {
    this.done = this.#read().catch((error) => {
      if (!this.#abort.signal.aborted) throw error;
    });
  }

  /** Connects; rejects unless the answer is a 200 event stream. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const abort = new AbortController();
    const response = await fetch(url, { headers, signal: abort.signal });
    const type = response.headers.get("content-type") ?? "";
    if (response.status !== 200 || !type.startsWith("text/event-stream")) {
      const text = await response.text();
      throw new Error(`GET ${url} answered ${response.status} ${type}: ${text}`);
    }
    const client = new SseClient(response);
    client.#abort.signal.addEventListener("abort", () => abort.abort());
    return client;
  }

  async #read(): Promise<void> {
    let buffer = "";
    let event = { id: this.lastId, event: "", data: [] as string[] };
    const decoder = new TextDecoderStream();
    for await (const chunk of this.response.body!.pipeThrough(decoder)) {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (event.data.length) {
            const dispatched = {
              id: event.id,
              event: event.event || "message",
              data: event.data.join("\n"),
            };
            this.lastId = event.id;
            this.events.push(dispatched);
            this.onEvent(dispatched);
          }
          event = { id: this.lastId, event: "", data: [] };
          continue;
        }
        if (line.startsWith(":")) {
          this.comments++;
          continue;
        }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "id") event.id = value;
        else if (field === "event") event.event = value;
        else if (field === "data") event.data.push(value);
        else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
      }
    }
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.done;
  }
}

/** Result sets by name, then rows by result key. */
export type ResultState = Map<string, Map<string, unknown>>;

/**
 * A client of one SSE sink that loads `<path>/snapshot`, then streams from its id and
 * applies every event, as the example page does. `resets` counts re-hydrations.
 */
export class ResultView {
  state: ResultState = new Map();
  id = "";
  resets = 0;
  applied = 0;
  /** Events whose id did not follow the previous one: a gap or a duplicate. */
  readonly anomalies: string[] = [];
  #client: SseClient | undefined;
  #closed = false;

  constructor(readonly base: string, readonly path: string) {}

  async hydrate(): Promise<this> {
    const response = await fetch(`${this.base}${this.path}/snapshot`);
    if (response.status !== 200) throw new Error(`snapshot answered ${response.status}`);
    const snapshot = await response.json() as {
      id: string;
      results: Record<string, Record<string, unknown>>;
    };
    this.state = new Map(
      Object.entries(snapshot.results).map(([name, rows]) => [name, new Map(Object.entries(rows))]),
    );
    this.id = snapshot.id;
    const client = await SseClient.open(
      `${this.base}${this.path}?last_event_id=${encodeURIComponent(snapshot.id)}`,
    );
    client.onEvent = (event) => this.#apply(event);
    this.#client = client;
    client.done.then(() => {
      if (this.#closed || client !== this.#client) return;
      this.hydrate().catch(() => {});
    });
    return this;
  }

  #apply(event: SseEvent): void {
    if (event.event === "reset") {
      this.resets++;
      return; // the stream ends next; `hydrate` runs again
    }
    const result = JSON.parse(event.data) as {
      name: string;
      key: string;
      row: unknown;
      _change?: { op: string };
    };
    let rows = this.state.get(result.name);
    if (!rows) this.state.set(result.name, rows = new Map());
    if (result._change?.op === "delete") rows.delete(result.key);
    else rows.set(result.key, result.row);
    if (BigInt(event.id) !== BigInt(this.id) + 1n) {
      this.anomalies.push(`event ${event.id} after ${this.id}`);
    }
    this.id = event.id;
    this.applied++;
  }

  /** The rows of one result set, sorted by key, as plain data. */
  rows(name: string): [string, unknown][] {
    return [...(this.state.get(name) ?? new Map())].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#client?.close();
  }
}
