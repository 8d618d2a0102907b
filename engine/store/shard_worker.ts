/// <reference lib="deno.worker" />
/**
 * The single writer of one shard, in its own thread: commits (and their fsync) never
 * block the thread that serves HTTP. Requests are handled strictly in order.
 */
import { type Row, Shard, type TopicCount, type Versions } from "./shard.ts";
import type { Synchronous } from "./sqlite.ts";
import type { TopicIndex } from "./indexes.ts";
import { collectOften } from "./thread_gc.ts";

export type ShardRequest =
  | {
    op: "open";
    id: number;
    index: number;
    path: string;
    topics: string[];
    synchronous: Synchronous;
    busyTimeoutMs: number;
    tombstones?: boolean;
    indexes?: TopicIndex[];
    walAutocheckpoint?: number;
  }
  | { op: "apply"; id: number; rows: Row[] }
  | { op: "expire"; id: number; topic: string; cutoff: number; limit: number }
  | { op: "checkpoint"; id: number }
  | { op: "probe"; id: number }
  | { op: "capSize"; id: number; capped: boolean }
  | {
    op: "evict";
    id: number;
    topic: string;
    versions: Versions;
    tombstones: boolean;
  }
  | {
    op: "evictExported";
    id: number;
    topic: string;
    from: number;
    to: number;
    upTo: number;
    limit: number;
    tombstones: boolean;
  }
  | { op: "close"; id: number };

/** A request without its id, as the writer makes it. */
export type ShardCommand = ShardRequest extends infer R ? R extends unknown ? Omit<R, "id"> : never
  : never;

export interface ShardDone {
  id: number;
  seq: number;
  commitMs?: number;
  changes?: number;
  /** After `open`: payload indexes created and dropped. */
  indexes?: { created: string[]; dropped: string[] };
  /** Per topic, after this request: rows stored and messages written since open. */
  counts?: Record<string, TopicCount>;
  /** Keys an eviction (`expire`, `evict`, `evictExported`) removed, by topic; `seq` counts it. */
  evicted?: { topic: string; keys: string[] }[];
}

export type ShardReply = ShardDone | { id: number; error: string };

let shard: Shard | undefined;
collectOften();

self.onmessage = (event: MessageEvent<ShardRequest>) => {
  const request = event.data;
  try {
    switch (request.op) {
      case "open":
        shard = new Shard(request.index, request.path, request.topics, request);
        return reply({
          id: request.id,
          seq: shard.seq,
          indexes: shard.indexChanges,
          counts: Object.fromEntries(shard.counts),
        });
      case "apply": {
        const started = performance.now();
        const seq = shard!.apply(request.rows);
        return reply({
          id: request.id,
          seq,
          commitMs: performance.now() - started,
          counts: Object.fromEntries(shard!.counts),
        });
      }
      case "expire":
        return evicted(request.id, shard!.expire(request.topic, request.cutoff, request.limit));
      case "evict":
        return evicted(
          request.id,
          shard!.evict(request.topic, request.versions, request.tombstones),
        );
      case "evictExported":
        return evicted(
          request.id,
          shard!.evictExported(
            request.topic,
            request.from,
            request.to,
            request.upTo,
            request.limit,
            request.tombstones,
          ),
        );
      case "checkpoint":
        shard!.checkpoint();
        return reply({ id: request.id, seq: shard!.seq });
      case "probe":
        shard!.probeSpace();
        return reply({ id: request.id, seq: shard!.seq });
      case "capSize":
        shard!.capSize(request.capped);
        return reply({ id: request.id, seq: shard!.seq });
      case "close":
        shard?.close();
        return reply({ id: request.id, seq: shard?.seq ?? 0 });
    }
  } catch (error) {
    reply({ id: request.id, error: (error as Error).message });
  }
};

/** The reply to an eviction: after it, so that `seq` counts it. */
function evicted(id: number, changes: number): void {
  reply({
    id,
    seq: shard!.seq,
    changes,
    counts: Object.fromEntries(shard!.counts),
    evicted: shard!.takeEvicted(),
  });
}

function reply(message: ShardReply): void {
  self.postMessage(message);
}
