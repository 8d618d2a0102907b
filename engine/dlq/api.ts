/**
 * What `litejoin dlq` and the console can ask of the dead-letter queue. The engine
 * serves it on the control socket (`dlq.stats`, `dlq.list`, `dlq.show`, `dlq.replay`,
 * `dlq.purge`); with no engine running, `litejoin dlq` uses the same code on `dlq.db`.
 */
import type { Clock } from "../types.ts";
import { closest } from "../schema/suggest.ts";
import {
  type DlqStore,
  type Entry,
  type EntryFilter,
  type EntryStatus,
  type Stats,
  STATUSES,
} from "./store.ts";
import type { SinkGate } from "./gate.ts";
import type { RetryPolicy } from "./redeliver.ts";
import { replay, type ReplayProgress, type ReplaySummary } from "./replay.ts";

export type { Entry, EntryStatus, ReplayProgress, ReplaySummary, Stats };

export interface ListQuery {
  sink?: string;
  status?: EntryStatus;
  source?: string;
  /** At most this many (default 100, at most 10000). */
  limit?: number;
  offset?: number;
  /** By id: `asc` (oldest first, the default) or `desc`. */
  order?: "asc" | "desc";
}

/** Exactly one of: an entry, every entry of a sink, or everything (retrying and dead). */
export interface ReplaySelection {
  id?: number;
  sink?: string;
  all?: boolean;
}

/** What to delete: an entry, or every entry matching sink and status; `all` for everything. */
export interface PurgeSelection {
  id?: number;
  sink?: string;
  status?: EntryStatus;
  all?: boolean;
  /** Count what would be deleted, delete nothing. */
  dry_run?: boolean;
}

export interface DlqApi {
  stats(): Promise<Stats>;
  list(query: ListQuery): Promise<{ entries: Entry[] }>;
  show(id: number): Promise<Entry>;
  replay(
    selection: ReplaySelection,
    onProgress?: (p: ReplayProgress) => void,
  ): Promise<ReplaySummary>;
  purge(selection: PurgeSelection): Promise<{ purged: number }>;
}

/** A request the queue cannot serve; `code` is stable (`bad_request`, `not_found`). */
export class DlqRequestError extends Error {
  constructor(message: string, readonly code: "bad_request" | "not_found" = "bad_request") {
    super(message);
    this.name = "DlqRequestError";
  }
}

// ---- parameters, as they arrive from a socket or a command line ---------------

type Params = Record<string, unknown>;

function optString(params: Params, name: string): string | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v === "") {
    throw new DlqRequestError(`${name} must be a non-empty string`);
  }
  return v;
}

function optInt(params: Params, name: string, min: number, max: number): number | undefined {
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new DlqRequestError(`${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

function optStatus(params: Params): EntryStatus | undefined {
  const v = optString(params, "status");
  if (v === undefined) return undefined;
  if (!(STATUSES as readonly string[]).includes(v)) {
    const guess = closest(v, STATUSES);
    throw new DlqRequestError(
      `status ${JSON.stringify(v)} is not one of ${STATUSES.join(", ")}${
        guess ? ` (did you mean ${guess}?)` : ""
      }`,
    );
  }
  return v as EntryStatus;
}

export function parseId(params: Params): number {
  const id = optInt(params, "id", 1, Number.MAX_SAFE_INTEGER);
  if (id === undefined) throw new DlqRequestError("id is required");
  return id;
}

export function parseListQuery(params: Params): ListQuery {
  const order = optString(params, "order");
  if (order !== undefined && order !== "asc" && order !== "desc") {
    throw new DlqRequestError('order must be "asc" or "desc"');
  }
  return {
    sink: optString(params, "sink"),
    status: optStatus(params),
    source: optString(params, "source"),
    limit: optInt(params, "limit", 1, 10_000),
    offset: optInt(params, "offset", 0, Number.MAX_SAFE_INTEGER),
    order,
  };
}

export function parseReplaySelection(params: Params): ReplaySelection {
  const selection = {
    id: optInt(params, "id", 1, Number.MAX_SAFE_INTEGER),
    sink: optString(params, "sink"),
    all: params.all === true ? true : undefined,
  };
  const chosen = [selection.id, selection.sink, selection.all].filter((v) => v !== undefined);
  if (chosen.length !== 1) {
    throw new DlqRequestError("say what to replay: one of an entry id, a sink, or all");
  }
  return selection;
}

export function parsePurgeSelection(params: Params): PurgeSelection {
  const selection = {
    id: optInt(params, "id", 1, Number.MAX_SAFE_INTEGER),
    sink: optString(params, "sink"),
    status: optStatus(params),
    all: params.all === true ? true : undefined,
    dry_run: params.dry_run === true ? true : undefined,
  };
  const narrowed = selection.id !== undefined || selection.sink !== undefined ||
    selection.status !== undefined;
  if (narrowed === (selection.all === true)) {
    throw new DlqRequestError(
      selection.all
        ? "all cannot be combined with an id, a sink or a status"
        : "say what to purge: an entry id, a sink, a status, or all",
    );
  }
  return selection;
}

// ---- the queue itself --------------------------------------------------------

export interface LocalOptions {
  /** Sinks in the config, shown in stats even with nothing queued. */
  sinks: readonly string[];
  /** The gates of `sinks` (configured ones), for a replay to send through; built when asked. */
  gates: (sinks: readonly string[]) => Promise<ReadonlyMap<string, SinkGate>>;
  owner: string;
  leaseMs: number;
  policy: RetryPolicy;
  clock: Clock;
}

/** The queue in this process, over `dlq.db`. */
export class LocalDlq implements DlqApi {
  constructor(readonly store: DlqStore, readonly opts: LocalOptions) {}

  stats(): Promise<Stats> {
    return Promise.resolve(this.store.stats(this.opts.sinks));
  }

  list(query: ListQuery): Promise<{ entries: Entry[] }> {
    const { limit = 100, offset = 0, order = "asc", ...filter } = query;
    return Promise.resolve({ entries: this.store.list(filter, { limit, offset, order }) });
  }

  show(id: number): Promise<Entry> {
    const entry = this.store.get(id);
    if (!entry) return Promise.reject(new DlqRequestError(`no entry ${id}`, "not_found"));
    return Promise.resolve(entry);
  }

  async replay(
    selection: ReplaySelection,
    onProgress?: (p: ReplayProgress) => void,
  ): Promise<ReplaySummary> {
    const configured = this.opts.sinks;
    const filter: EntryFilter = {};
    let needed: string[];
    if (selection.id !== undefined) {
      const entry = await this.show(selection.id);
      if (entry.status === "rejected") {
        throw new DlqRequestError(
          `entry ${entry.id} is an input rejected by source ${entry.source}; it cannot be replayed: ` +
            "fix it at its producer and send it again",
        );
      }
      if (entry.status === "delivered") {
        throw new DlqRequestError(`entry ${entry.id} is delivered already`);
      }
      if (!configured.includes(entry.sink!)) {
        throw new DlqRequestError(
          `entry ${entry.id} belongs to sink ${entry.sink}, which is not configured; add it back, or purge the entry`,
        );
      }
      filter.id = selection.id;
      needed = [entry.sink!];
    } else if (selection.sink !== undefined) {
      if (!configured.includes(selection.sink)) {
        const guess = closest(selection.sink, configured);
        throw new DlqRequestError(
          `no sink named ${selection.sink} is configured${
            guess ? ` (did you mean ${guess}?)` : ` (sinks: ${configured.join(", ") || "none"})`
          }`,
        );
      }
      filter.sink = selection.sink;
      needed = [selection.sink];
    } else {
      needed = this.store.replayableSinks().filter((s) => configured.includes(s));
    }
    const gates = await this.opts.gates(needed);
    return replay(this.store, gates, filter, { ...this.opts, onProgress });
  }

  purge(selection: PurgeSelection): Promise<{ purged: number }> {
    const { all: _all, dry_run, ...filter } = selection;
    const purged = dry_run ? this.store.count(filter) : this.store.purge(filter);
    if (selection.id !== undefined && purged === 0) {
      return Promise.reject(new DlqRequestError(`no entry ${selection.id}`, "not_found"));
    }
    return Promise.resolve({ purged });
  }
}

/** The queue when `dlq.enabled` is false: every request says so. */
export class DisabledDlq implements DlqApi {
  #no(): Promise<never> {
    return Promise.reject(
      new DlqRequestError("the dead-letter queue is disabled (set dlq.enabled: true)"),
    );
  }
  stats = () => this.#no();
  list = () => this.#no();
  show = () => this.#no();
  replay = () => this.#no();
  purge = () => this.#no();
}
