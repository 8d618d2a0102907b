/**
 * One poll's walk over the pages of an API, diffing each item against what the source
 * last emitted. It reads state but changes none: the caller writes the changes it
 * returns and records them once they are committed.
 */
import { getPath, keyOf } from "../paths.ts";
import type { Change } from "../types.ts";
import { ApiError, requestJson, type RequestOptions } from "./_api_request.ts";
import type { ApiState, KnownItem, Watermark } from "./_api_state.ts";
import { changedFields, itemHash } from "./_diff.ts";
import { createPager, type PaginationConfig } from "./_pagination.ts";
import { nestedDeeperThan, tooDeepMessage } from "./_json_depth.ts";

export interface WalkOptions {
  url: string;
  /** Dotted path of the item list in each response; empty for a top-level list. */
  items: string;
  key: string;
  pagination?: PaginationConfig;
  maxPages: number;
  watermark?: { field: string; param: string; initial?: string };
  deletes: boolean;
  previous: boolean;
  request: RequestOptions;
}

/** A change found by the walk: the change, the item's new payload, and its new state. */
export interface FoundChange {
  change: Change;
  payload: Record<string, unknown>;
  /** The state to record once the change is committed; null for a delete. */
  known: KnownItem | null;
}

/** An item the source could not store, and why. */
export interface SkippedItem {
  item: unknown;
  reason: string;
  url: string;
  index: number;
}

/** Skipped items kept per poll; the count goes on beyond it. */
export const MAX_KEPT_SKIPPED = 1000;

export interface Walk {
  changes: Map<string, FoundChange>;
  pages: number;
  items: number;
  /**
   * Items skipped because they are not objects or have no key; the first one described,
   * and up to `MAX_KEPT_SKIPPED` of them kept for the dead-letter queue.
   */
  skipped: { count: number; first?: string; items: SkippedItem[] };
  /** True when max_pages stopped the walk before the last page. */
  truncated: boolean;
  /** The highest watermark value seen, or the one sent when no item had a higher one. */
  watermark: Watermark | undefined;
  /** Retried attempts and the last of their errors. */
  retries: { count: number; last?: string };
}

/**
 * Fetches every page and returns what changed. Throws `ApiError` (with the URL in its
 * message) when a page cannot be fetched or read: the poll then records nothing.
 */
export async function walk(opts: WalkOptions, state: ApiState): Promise<Walk> {
  const result: Walk = {
    changes: new Map(),
    pages: 0,
    items: 0,
    skipped: { count: 0, items: [] },
    truncated: false,
    watermark: state.watermark() ?? opts.watermark?.initial,
    retries: { count: 0 },
  };
  const seen = new Set<string>();
  const pager = createPager(opts.pagination);
  const base = new URL(opts.url);
  if (opts.watermark && result.watermark !== undefined) {
    base.searchParams.set(opts.watermark.param, String(result.watermark));
  }
  let url: URL | undefined = pager.first(base);
  while (url) {
    const where = `${opts.request.method} ${url.href}`;
    const request: RequestOptions = {
      ...opts.request,
      onRetry: (error, attempt, wait) => {
        result.retries.count++;
        result.retries.last = `${where}: ${error.message}`;
        opts.request.onRetry?.(error, attempt, wait);
      },
    };
    let response;
    try {
      response = await requestJson(url, request);
    } catch (error) {
      if (error instanceof ApiError) {
        throw new ApiError(error.reason, `${where}: ${error.message}`, { cause: error });
      }
      throw error;
    }
    result.pages++;
    const list = itemList(response.body, opts.items, where);
    const keyed: [string, Record<string, unknown>][] = [];
    list.forEach((item, index) => {
      const skip = (reason: string) => {
        result.skipped.count++;
        result.skipped.first ??= `item ${index} on ${where} ${reason}`;
        if (result.skipped.items.length < MAX_KEPT_SKIPPED) {
          result.skipped.items.push({ item, reason, url: where, index });
        }
      };
      if (item === null || typeof item !== "object" || Array.isArray(item)) {
        return skip("is not a JSON object");
      }
      const payload = item as Record<string, unknown>;
      if (nestedDeeperThan(payload)) return skip(`is ${tooDeepMessage()}`);
      const key = keyOf(getPath(payload, opts.key));
      if (key === undefined) {
        return skip(`has no key at "${opts.key}" (a non-empty string or number)`);
      }
      keyed.push([key, payload]);
    });
    result.items += keyed.length;
    const hashes = state.hashes(keyed.map(([key]) => key));
    for (const [key, payload] of keyed) {
      if (opts.deletes) seen.add(key);
      diff(key, payload, hashes.get(key), state, opts.previous, result.changes);
      if (opts.watermark) result.watermark = later(result.watermark, payload, opts.watermark.field);
    }
    let next: URL | undefined;
    try {
      next = pager.next({
        url,
        body: response.body,
        headers: response.headers,
        items: list.length,
      });
    } catch (error) {
      throw new ApiError("pagination", `${where}: ${(error as Error).message}`);
    }
    if (next && result.pages >= opts.maxPages) {
      result.truncated = true;
      break;
    }
    url = next;
  }
  // Keys that disappeared count as deleted only when the snapshot is whole and clean.
  if (opts.deletes && !result.truncated && result.skipped.count === 0) {
    const gone = [...state.keys()].filter((key) => !seen.has(key));
    for (const key of gone) {
      const previous = JSON.parse(state.get(key)!.json);
      result.changes.set(key, {
        change: opts.previous ? { op: "delete", previous } : { op: "delete" },
        payload: previous,
        known: null,
      });
    }
  }
  return result;
}

/** Records the change of one item against its last emitted version, if it changed. */
function diff(
  key: string,
  payload: Record<string, unknown>,
  knownHash: number | undefined,
  state: ApiState,
  withPrevious: boolean,
  changes: Map<string, FoundChange>,
): void {
  const hash = itemHash(payload);
  if (knownHash === hash) {
    // Unchanged (an earlier copy of the key in this poll may have said otherwise).
    changes.delete(key);
    return;
  }
  const next = { hash, json: JSON.stringify(payload) };
  if (knownHash === undefined) {
    changes.set(key, { change: { op: "insert" }, payload, known: next });
    return;
  }
  const previous = JSON.parse(state.get(key)!.json);
  const change: Change = { op: "update", fields: changedFields(previous, payload) };
  if (withPrevious) change.previous = previous;
  changes.set(key, { change, payload, known: next });
}

function itemList(body: unknown, path: string, where: string): unknown[] {
  const list = getPath(body, path);
  if (Array.isArray(list)) return list;
  const keys = body && typeof body === "object" && !Array.isArray(body)
    ? ` (top-level keys: ${Object.keys(body).slice(0, 10).join(", ") || "none"})`
    : "";
  const found = list === undefined
    ? "nothing"
    : Array.isArray(list)
    ? "a list"
    : list === null
    ? "null"
    : typeof list === "object"
    ? "an object"
    : `a ${typeof list}`;
  throw new ApiError(
    "items",
    `${where}: the response has ${found} at ${
      path ? `"${path}"` : "the top level"
    }, not a list of items${keys}; set items to the dotted path of the list`,
  );
}

/** The later of the watermark so far and the item's value at `field`. */
function later(
  mark: Watermark | undefined,
  item: Record<string, unknown>,
  field: string,
): Watermark | undefined {
  const value = getPath(item, field);
  if (typeof value !== "string" && typeof value !== "number") return mark;
  if (mark === undefined) return value;
  return isAfter(value, mark) ? value : mark;
}

/** Numbers (or numeric strings) compare as numbers, anything else as text (ISO 8601 dates). */
export function isAfter(a: Watermark, b: Watermark): boolean {
  const x = Number(a);
  const y = Number(b);
  if (a !== "" && b !== "" && Number.isFinite(x) && Number.isFinite(y)) return x > y;
  return String(a) > String(b);
}
