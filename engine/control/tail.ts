/** The `tail` control method: a topic's newest messages, newest first. */
import type { TopicCount } from "../store/shard.ts";
import { ControlError, type ControlServer } from "./server.ts";
import type { TailMessage, TailResult } from "./protocol.ts";

export const MAX_TAIL = 500;
/** Longer payloads are cut, so that a tail of large messages stays a small reply. */
export const MAX_PAYLOAD = 16 * 1024;

export interface TailDeps {
  readers: { all(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]> };
  topics: readonly string[];
  shardCount: number;
  counts(): Map<string, TopicCount>;
}

/**
 * Reads the newest `limit` messages of each shard through the timestamp index and
 * merges them: the cost is `limit` rows per shard, whatever the topic's size.
 */
export async function tail(deps: TailDeps, topic: string, limit: number): Promise<TailResult> {
  const perShard = await Promise.all(
    Array.from({ length: deps.shardCount }, async (_, shard) =>
      (await deps.readers.all(
        `SELECT key, payload, timestamp, _change FROM s${shard}."${topic}"
         ORDER BY timestamp DESC, _seq DESC LIMIT ?`,
        [limit],
      )).map((row): TailMessage => {
        const payload = String(row.payload);
        return {
          key: String(row.key),
          timestamp: Number(row.timestamp),
          payload: payload.length > MAX_PAYLOAD
            ? `${payload.slice(0, MAX_PAYLOAD)}… (${payload.length} characters)`
            : payload,
          change: row._change === null ? null : String(row._change),
          shard,
        };
      })),
  );
  const messages = perShard.flat().sort((a, b) => b.timestamp - a.timestamp).slice(0, limit);
  return { topic, rows: deps.counts().get(topic)?.rows ?? 0, messages };
}

export function serveTail(control: ControlServer, deps: TailDeps): void {
  control.handle("tail", (params) => {
    const topic = params.topic;
    if (typeof topic !== "string" || !deps.topics.includes(topic)) {
      throw new ControlError(
        `no topic named ${JSON.stringify(topic)} (topics: ${deps.topics.join(", ") || "none"})`,
        "not_found",
      );
    }
    const limit = params.limit ?? 20;
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
      throw new ControlError(`limit must be a positive integer, got ${JSON.stringify(limit)}`);
    }
    return tail(deps, topic, Math.min(limit, MAX_TAIL));
  });
}
