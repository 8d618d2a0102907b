/** Kafka records as messages: what the Kafka source stores, and why it refuses the rest. */
import type { KafkaMessage } from "kafkajs";
import { getPath, keyOf } from "../paths.ts";
import type { Message } from "../types.ts";
import { findJsonProblem } from "./_json_position.ts";
import { decodeUtf8 } from "./_utf8.ts";
import { MAX_JSON_DEPTH, nestedDeeperThan, tooDeepMessage } from "./_json_depth.ts";

/** Why a record was refused, as counted in `litejoin_source_rejected_total{reason}`. */
export type RejectReason = "invalid_json" | "not_object" | "no_key";

export interface Refused {
  reason: RejectReason;
  message: string;
}

export interface DecodeOptions {
  topic: string;
  /** Dotted path of the key in the payload; undefined for the record key. */
  key?: string;
  timestamp: "ingest" | "kafka";
}

const UTF8 = new TextDecoder();

/**
 * The message a record stands for, or why it cannot be one. A record without a value
 * (a tombstone) deletes its key, when the key is the record key.
 */
export function decodeRecord(
  record: Pick<KafkaMessage, "key" | "value" | "timestamp">,
  opts: DecodeOptions,
  now: number,
): Message | Refused {
  const recordKey = record.key?.length ? UTF8.decode(record.key) : undefined;
  const timestamp = opts.timestamp === "kafka" && Number(record.timestamp) >= 0
    ? Number(record.timestamp)
    : now;
  if (record.value === null) {
    if (opts.key !== undefined || recordKey === undefined) {
      return {
        reason: "no_key",
        message: opts.key !== undefined
          ? `a record without a value (tombstone) has no payload to read the key "${opts.key}" from`
          : "a record without a value (tombstone) has no key",
      };
    }
    return { topic: opts.topic, key: recordKey, payload: {}, timestamp, _change: { op: "delete" } };
  }
  const decoded = decodeUtf8(record.value);
  if ("invalidAt" in decoded) {
    return { reason: "invalid_json", message: `not valid UTF-8 at byte ${decoded.invalidAt}` };
  }
  const text = decoded.text;
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    const p = findJsonProblem(text);
    return {
      reason: "invalid_json",
      message: `not valid JSON at line ${p.line} column ${p.column}: ${p.message}`,
    };
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    return {
      reason: "not_object",
      message: `the value is JSON ${
        Array.isArray(payload) ? "array" : typeof payload === "object" ? "null" : typeof payload
      }, not an object`,
    };
  }
  if (text.length > 2 * MAX_JSON_DEPTH && nestedDeeperThan(payload)) {
    return { reason: "invalid_json", message: `the value is ${tooDeepMessage()}` };
  }
  const key = opts.key === undefined ? recordKey : keyOf(getPath(payload, opts.key));
  if (key === undefined) {
    return {
      reason: "no_key",
      message: opts.key === undefined
        ? "the record has no key (set key: to read it from the payload)"
        : `no key at "${opts.key}" (a non-empty string or number)`,
    };
  }
  return { topic: opts.topic, key, payload: payload as Record<string, unknown>, timestamp };
}
