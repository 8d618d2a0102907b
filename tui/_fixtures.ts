/** Test data and a scripted engine link for the console's component tests. */
import type { DlqEntry, EngineInfo, Stats } from "../engine/client.ts";
import type { Link, LinkState } from "./link.ts";

export const NOW = Date.UTC(2026, 10, 22, 10, 0, 0);

export const info: EngineInfo = {
  version: "0.1.0",
  pid: 4242,
  started_at: NOW - 3_723_000,
  uptime_seconds: 3723,
  config_file: "/srv/litejoin.yaml",
  data_dir: "/srv/data",
  http: "127.0.0.1:8080",
  shard_count: 2,
  topics: ["customers", "orders", "payments"],
  sources: [{ name: "orders_in", type: "http" }],
  joins: [{
    name: "enriched_orders",
    mode: "full",
    topics: ["orders", "customers"],
    sinks: ["hook"],
  }],
  sinks: [{ name: "hook", type: "http" }, { name: "results_db", type: "sqlite" }],
};

export function stats(patch: Partial<Stats> = {}): Stats {
  return {
    at: NOW,
    uptime_seconds: 3723,
    interval_ms: 1000,
    backlog: 0,
    shards: [0, 1].map((shard) => ({
      shard,
      writes_per_s: 1200 + shard * 100,
      history: Array.from({ length: 60 }, (_, i) => (i * 37 + shard * 11) % 1500),
      commits_per_s: 40,
      commit_ms_last: 1.5,
      commit_ms_p99: 5,
      db_bytes: 12 * 1024 * 1024,
      wal_bytes: 4 * 1024 * 1024,
    })),
    topics: [
      { topic: "customers", rows: 50, bytes: 40960, rate_per_s: 2, written: 7446 },
      {
        topic: "orders",
        rows: 1_234_567,
        bytes: 250 * 1024 * 1024,
        rate_per_s: 2300,
        written: 9_000_000,
      },
      { topic: "payments", rows: 0, bytes: 12288, rate_per_s: 0, written: 0 },
    ],
    joins: [{
      name: "enriched_orders",
      mode: "full",
      evaluations: 5321,
      errors: 0,
      last_ms: 3.2,
      p99_ms: 10,
      pending_keys: 0,
      lag_ms: 1500,
      status: "ok",
      reason: "ok",
    }],
    windows: [],
    sinks: [
      {
        name: "hook",
        type: "http",
        delivered: 10_500,
        failed: 3,
        retries: 9,
        backlog: 0,
        last_ms: 12,
        p99_ms: 50,
        dlq_depth: null,
        dlq_oldest: null,
        status: "fail",
        reason: "3 results failed delivery in the last minute",
      },
      {
        name: "results_db",
        type: "sqlite",
        delivered: 12_000,
        failed: 0,
        retries: 0,
        backlog: 0,
        last_ms: 1,
        p99_ms: 2.5,
        dlq_depth: null,
        dlq_oldest: null,
        status: "ok",
        reason: "ok",
      },
    ],
    dlq: null,
    status: "fail",
    ...patch,
  };
}

export const entries: DlqEntry[] = [1, 2, 3].map((id) => ({
  id,
  sink: id === 3 ? "results_db" : "hook",
  source: "enriched_orders",
  key: `o-${id}`,
  payload: { order_id: `o-${id}`, amount: id * 10 },
  error: id === 2 ? "POST http://hook/ answered 400: bad amount" : "connection refused",
  attempts: 8,
  first_failed_at: NOW - 600_000,
  last_failed_at: NOW - 60_000 * id,
  next_attempt_at: null,
  status: id === 1 ? "retrying" : "dead",
}));

/** A link whose state the test sets and whose requests the test answers. */
export class FakeLink implements Link {
  #state: LinkState;
  readonly #listeners = new Set<() => void>();
  readonly requests: { method: string; params: Record<string, unknown> }[] = [];
  /** Answers a request; by default rejects with "not scripted". */
  answer: (method: string, params: Record<string, unknown>) => unknown = (method) => {
    throw new Error(`not scripted: ${method}`);
  };

  constructor(patch: Partial<LinkState> = {}) {
    this.#state = {
      connection: "connected",
      reason: "",
      attempt: 0,
      info,
      methods: ["info", "config", "stats", "sql", "sql.cancel", "tail", "methods", "subscribe"],
      stats: stats(),
      ...patch,
    };
  }

  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  state(): LinkState {
    return this.#state;
  }

  set(patch: Partial<LinkState>): void {
    this.#state = { ...this.#state, ...patch };
    for (const fn of this.#listeners) fn();
  }

  request<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    this.requests.push({ method, params });
    try {
      return Promise.resolve(this.answer(method, params) as T);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

export const KEY = {
  up: "\x1b[A",
  down: "\x1b[B",
  right: "\x1b[C",
  left: "\x1b[D",
  pageDown: "\x1b[6~",
  pageUp: "\x1b[5~",
  enter: "\r",
  esc: "\x1b",
  tab: "\t",
  backspace: "\x7f",
  ctrlC: "\x03",
  ctrlE: "\x05",
} as const;

export const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Writes keys one at a time and lets React commit after each; a lone Esc waits out
 * Ink's 20 ms escape-sequence delay.
 */
export async function press(stdin: { write(data: string): void }, ...keys: string[]) {
  for (const key of keys) {
    stdin.write(key);
    await tick(key === KEY.esc ? 40 : 0);
  }
  await tick();
}
