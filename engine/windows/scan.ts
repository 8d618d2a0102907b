/**
 * What a restart reads back: the events of a window's topic that no recorded close
 * covers (by event time, or by session start for sessions that were open), plus every
 * event written after the recorded close, which may have arrived late. SQLite drops
 * the older events, so JavaScript parses only those a window may still hold.
 */
import { getPath } from "../paths.ts";
import type { Readers } from "../store/readers.ts";
import type { Message } from "../types.ts";
import { eventTime } from "./event_time.ts";
import type { Progress } from "./progress.ts";
import { asSessionKey, sessionId } from "./session.ts";
import type { WindowTask } from "./task.ts";
import type { SessionKey } from "./window.ts";

export interface ScannedEvent {
  time: number;
  key?: SessionKey;
  /** Set for events written after the recorded close: they may be late. */
  message?: Message;
}

const PAGE = 5000;

/** The events of the window's topic that a restart must assign again, read shard by shard. */
export async function scanTopic(
  task: WindowTask,
  readers: Pick<Readers, "query">,
  saved: Pick<Progress, "closed" | "seqs" | "starts">,
): Promise<ScannedEvent[]> {
  const { closed, seqs, starts } = saved;
  const c = task.config;
  const grace = c.grace;
  // Events before this cannot fall in an open window (sessions: unless their key's
  // saved starts say so).
  let from: number;
  let fromKey: (id: string) => number;
  if (c.type === "session") {
    const minStart = new Map<string, number>();
    let min = closed - grace;
    for (const [id, list] of starts) {
      const m = Math.min(...list);
      minStart.set(id, m);
      if (m < min) min = m;
    }
    from = min;
    fromKey = (id) => Math.min(closed - grace, minStart.get(id) ?? Infinity);
  } else {
    from = closed - grace - c.size;
    fromKey = () => from;
  }
  const keyPath = c.type === "session" ? c.key : undefined;
  const out: ScannedEvent[] = [];
  for (let shard = 0; shard < seqs.length; shard++) {
    const filter = from > -Infinity
      ? `AND (${atOrAfter(c.time, Math.floor(from))} OR _seq > ${seqs[shard]})`
      : "";
    for (let after = 0;;) {
      const { rows } = await readers.query(
        `SELECT rowid AS r, key, payload, timestamp, _seq FROM s${shard}."${task.topic}"
         WHERE rowid > ? ${filter} ORDER BY rowid LIMIT ${PAGE}`,
        [after],
      );
      for (const row of rows) {
        const message: Message = {
          topic: task.topic,
          key: String(row.key),
          payload: JSON.parse(String(row.payload)),
          timestamp: Number(row.timestamp),
        };
        const time = eventTime(message, c.time);
        if (time === undefined) continue;
        let key: SessionKey | undefined;
        if (keyPath !== undefined) {
          key = asSessionKey(getPath(message.payload, keyPath));
          if (key === undefined) continue;
        }
        const fresh = Number(row._seq) > seqs[shard];
        if (!fresh && time < fromKey(key === undefined ? "" : sessionId(key))) continue;
        out.push({ time, key, message: fresh ? message : undefined });
      }
      if (rows.length < PAGE) break;
      after = Number(rows[rows.length - 1].r);
    }
  }
  return out;
}

/**
 * SQL true for a row whose event time may be at or after `from`: its timestamp, or
 * its payload time when that is a number. Rows SQLite cannot tell (an ISO-8601
 * string, which sorts after every number; a path through an array) are kept, and
 * the time is read from the payload as the windows read it.
 */
function atOrAfter(time: string | undefined, from: number): string {
  if (time === undefined) return `timestamp >= ${from}`;
  const path = "$" + time.split(".").map((step) => `."${step}"`).join("");
  return `coalesce(json_extract(payload, '${path}') >= ${from}, 1)`;
}
