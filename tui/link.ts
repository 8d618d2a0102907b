/**
 * The console's connection to an engine: connects, reads `info` and `methods`,
 * subscribes to `stats`, and when the engine goes away keeps retrying (100 ms, doubling
 * to 2 s) until one answers again at the same socket. The UI reads its state; it never
 * touches the socket itself.
 */
import { ControlClient, NoEngineError } from "../engine/client.ts";
import type { EngineInfo, Stats } from "../engine/client.ts";

export type Connection = "connecting" | "connected" | "down";

export interface LinkState {
  connection: Connection;
  /** Why the engine is down (the last connect error), when it is. */
  reason: string;
  /** Connect attempts since the connection was lost. */
  attempt: number;
  info: EngineInfo | null;
  /** The methods the engine serves (e.g. whether `dlq.stats` is among them). */
  methods: string[];
  stats: Stats | null;
}

/** What the console needs from an engine: state to render, and requests. */
export interface Link {
  /** Calls `fn` on every state change; returns an unsubscriber. */
  subscribe(fn: () => void): () => void;
  /** The current state; the same object until it changes. */
  state(): LinkState;
  /** Sends a request; rejects with the engine's error, or `NoEngineError` while down. */
  request<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T>;
}

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 2000;

export class EngineLink implements Link {
  #state: LinkState = {
    connection: "connecting",
    reason: "",
    attempt: 0,
    info: null,
    methods: [],
    stats: null,
  };
  readonly #listeners = new Set<() => void>();
  #client: ControlClient | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  readonly #loop: Promise<void>;

  constructor(readonly path: string) {
    this.#loop = this.#run();
  }

  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  state(): LinkState {
    return this.#state;
  }

  #set(patch: Partial<LinkState>): void {
    this.#state = { ...this.#state, ...patch };
    for (const fn of this.#listeners) fn();
  }

  request<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (!this.#client || this.#client.closed) {
      return Promise.reject(new NoEngineError(this.path));
    }
    return this.#client.request<T>(method, params);
  }

  async #run(): Promise<void> {
    let delay = FIRST_DELAY_MS;
    let attempt = 0;
    while (!this.#stopped) {
      attempt++;
      try {
        const client = await ControlClient.connect(this.path);
        const closed = new Promise<void>((resolve) => client.onClose(resolve));
        this.#client = client;
        const [info, methods, stats] = await Promise.all([
          client.request<EngineInfo>("info"),
          client.request<string[]>("methods"),
          client.request<Stats>("stats"),
        ]);
        await client.subscribe("stats", (data) => this.#set({ stats: data as Stats }));
        delay = FIRST_DELAY_MS;
        attempt = 0;
        this.#set({ connection: "connected", reason: "", attempt: 0, info, methods, stats });
        await closed;
        this.#client = undefined;
        if (this.#stopped) break;
        this.#set({ connection: "down", reason: "the engine closed the connection", attempt });
      } catch (error) {
        this.#client?.close();
        this.#client = undefined;
        if (this.#stopped) break;
        this.#set({ connection: "down", reason: (error as Error).message, attempt });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }

  /** Closes the connection and stops reconnecting. */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#client?.close();
    this.#wake?.();
    await this.#loop;
  }
}
