import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { decodeRecord } from "./_kafka_record.ts";

const record = (key: string | null, value: string | null, timestamp = "1700000000000") => ({
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  timestamp,
});
const NOW = 1_800_000_000_000;

Deno.test("kafka record: a JSON object with a record key becomes a message", () => {
  assert.deepEqual(
    decodeRecord(record("o-1", '{"amount": 5}'), { topic: "orders", timestamp: "ingest" }, NOW),
    { topic: "orders", key: "o-1", payload: { amount: 5 }, timestamp: NOW },
  );
});

Deno.test("kafka record: the key may come from the payload, the time from Kafka", () => {
  const opts = { topic: "orders", key: "order.id", timestamp: "kafka" } as const;
  assert.deepEqual(decodeRecord(record(null, '{"order": {"id": 7}}'), opts, NOW), {
    topic: "orders",
    key: "7",
    payload: { order: { id: 7 } },
    timestamp: 1_700_000_000_000,
  });
});

Deno.test("kafka record: a tombstone deletes its key", () => {
  assert.deepEqual(decodeRecord(record("o-1", null), { topic: "t", timestamp: "ingest" }, NOW), {
    topic: "t",
    key: "o-1",
    payload: {},
    timestamp: NOW,
    _change: { op: "delete" },
  });
});

Deno.test("kafka record: bad values and missing keys are refused with a reason", () => {
  const ingest = { topic: "t", timestamp: "ingest" } as const;
  assert.deepEqual(decodeRecord(record("k", "{\n  bad"), ingest, NOW), {
    reason: "invalid_json",
    message: 'not valid JSON at line 2 column 3: expected a double-quoted property name, found "b"',
  });
  assert.deepEqual(decodeRecord(record("k", ""), ingest, NOW), {
    reason: "invalid_json",
    message: "not valid JSON at line 1 column 1: unexpected end of input",
  });
  assert.deepEqual(decodeRecord(record("k", "42"), ingest, NOW), {
    reason: "not_object",
    message: "the value is JSON number, not an object",
  });
  assert.deepEqual(decodeRecord(record("", "{}"), ingest, NOW), {
    reason: "no_key",
    message: "the record has no key (set key: to read it from the payload)",
  });
  assert.deepEqual(decodeRecord(record("k", '{"id": {}}'), { ...ingest, key: "id" }, NOW), {
    reason: "no_key",
    message: 'no key at "id" (a non-empty string or number)',
  });
  assert.equal(
    (decodeRecord(record("k", null), { ...ingest, key: "id" }, NOW) as { reason: string }).reason,
    "no_key",
  );
});

Deno.test("kafka record: a value nested deeper than SQLite's JSON functions read is refused", () => {
  const ingest = { topic: "t", timestamp: "ingest" } as const;
  const nest = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
  assert.deepEqual(decodeRecord(record("k", `{"x":${nest(1000)}}`), ingest, NOW), {
    reason: "invalid_json",
    message: "the value is nested deeper than 1000 levels of arrays and objects, more than " +
      "SQLite's JSON functions read",
  });
  assert.equal("key" in decodeRecord(record("k", `{"x":${nest(999)}}`), ingest, NOW), true);
});

Deno.test("kafka record: a value that is not valid UTF-8 is refused, not stored with replacements", () => {
  const ingest = { topic: "t", timestamp: "ingest" } as const;
  const value = Buffer.from([...Buffer.from('{"a":"'), 0xff, 0x22, 0x7d]);
  assert.deepEqual(decodeRecord({ key: null, value, timestamp: "0" }, ingest, NOW), {
    reason: "invalid_json",
    message: "not valid UTF-8 at byte 6",
  });
});
