import assert from "node:assert/strict";
import kafkajs from "kafkajs";
import { createLogger } from "../log.ts";
import { createKafka, describeKafkaError, tlsOptions } from "./client.ts";

// kafkajs spreads its error classes into its exports, which named imports cannot see.
const {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
} = kafkajs;

Deno.test("kafka errors are described from their innermost cause, in one line", () => {
  const refused = new KafkaJSNumberOfRetriesExceeded(
    new KafkaJSConnectionError("Connection error: connect ECONNREFUSED 127.0.0.1:9"),
    { retryCount: 3, retryTime: 1000 },
  );
  assert.deepEqual(describeKafkaError(refused), {
    kind: "unreachable",
    message: "cannot connect: connect ECONNREFUSED 127.0.0.1:9",
    retriable: true,
  });
  const missing = Object.assign(
    new KafkaJSProtocolError("This server does not host this topic-partition"),
    { type: "UNKNOWN_TOPIC_OR_PARTITION" },
  );
  assert.equal(describeKafkaError(missing).kind, "missing_topic");
  assert.deepEqual(
    describeKafkaError(new KafkaJSRequestTimeoutError("Request Produce timed out\n(after 30s)")),
    {
      kind: "timeout",
      message: "no answer: Request Produce timed out (after 30s)",
      retriable: true,
    },
  );
  const tooLarge = Object.assign(
    new KafkaJSProtocolError(
      "The request included a message larger than the max message size the server will accept",
    ),
    {
      type: "MESSAGE_TOO_LARGE",
      retriable: false,
    },
  );
  assert.equal(describeKafkaError(tooLarge).retriable, false);
  assert.deepEqual(describeKafkaError(new TypeError("bad")), {
    kind: "local",
    message: "TypeError: bad",
    retriable: true,
  });
});

Deno.test("ssl options pass through to tls, snake_case keys as camelCase", () => {
  assert.equal(tlsOptions(undefined), undefined);
  assert.equal(tlsOptions(true), true);
  assert.deepEqual(tlsOptions({ ca: "PEM", reject_unauthorized: false }), {
    ca: "PEM",
    rejectUnauthorized: false,
  });
});

Deno.test("kafkajs logs go to the engine logger at debug, one line each", async () => {
  const lines: string[] = [];
  const kafka = createKafka({
    brokers: ["127.0.0.1:1"],
    client_id: "t",
    connection_timeout: 100,
    request_timeout: 100,
  }, createLogger({ level: "debug", write: (l) => lines.push(l) }));
  const producer = kafka.producer();
  await assert.rejects(producer.connect());
  assert.ok(lines.length > 0);
  for (const line of lines) {
    assert.match(line, /^\S+ debug kafkajs (error|warn|info|debug) \S+: /);
    assert.ok(!line.includes("\n"), line);
  }
});
