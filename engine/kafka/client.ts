/**
 * What the Kafka source and sink share: the client fields of their config, the
 * kafkajs client built from them (its logs routed to the engine's logger), and
 * one-line descriptions of the errors kafkajs raises.
 */
import process from "node:process";
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from "kafkajs";
import {
  any,
  type At,
  child,
  type Invalid,
  invalid,
  object,
  oneOf,
  Schema,
  string,
} from "../schema/schema.ts";
import { isSeq, type Node } from "yaml";
import { duration } from "../schema/units.ts";
import type { Logger } from "../log.ts";

const BROKER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;
const KAFKA_TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/** A Kafka topic name as Kafka allows it (which is not always a LiteJoin topic name). */
export const kafkaTopic = () =>
  string({
    pattern: KAFKA_TOPIC,
    hint: "is not a Kafka topic name (letters, digits, ., _ and -, at most 249)",
  });

/** `host:port` brokers, as a YAML list or one comma-separated string (handy with `${ENV}`). */
export function brokerList(): Schema<string[]> {
  const one = string({ pattern: BROKER, hint: "is not a broker address (write host:port)" });
  return new Schema<string[]>({ type: "list of host:port" }, (node: Node, at: At) => {
    const items: { node: Node; at: At }[] = [];
    if (isSeq(node)) {
      node.items.forEach((item, i) =>
        items.push({ node: item as Node, at: child(at, i, item as Node) })
      );
    } else {
      const text = string().parse(node, at);
      if (text === invalid) return invalid;
      const out: string[] = [];
      for (const part of text.split(",").map((p) => p.trim())) {
        if (!BROKER.test(part)) {
          at.ctx.report(
            at,
            `${JSON.stringify(part)} is not a broker address (write host:port)`,
            node,
          );
          return invalid;
        }
        out.push(part);
      }
      return out;
    }
    if (items.length === 0) {
      at.ctx.report(at, "needs at least one broker (host:port)", node);
      return invalid;
    }
    const out: string[] = [];
    let ok = true;
    for (const item of items) {
      const value: string | Invalid = one.parse(item.node, item.at);
      if (value === invalid) ok = false;
      else out.push(value);
    }
    return ok ? out : invalid;
  });
}

/** Fields every Kafka source and sink has: where the cluster is and how to talk to it. */
export const clientFields = () => ({
  brokers: brokerList().describe(
    'Bootstrap brokers: a list of host:port, or one comma-separated string ("${KAFKA_BROKERS}").',
    ["kafka-1:9092", "kafka-2:9092"],
  ),
  client_id: string().default("litejoin").describe("Client id the brokers see in logs and quotas."),
  ssl: any().optional().check((v) =>
    typeof v === "boolean" || (v !== null && typeof v === "object" && !Array.isArray(v))
      ? undefined
      : "must be true, or a mapping of TLS options (ca, cert, key, passphrase, servername, reject_unauthorized)"
  ).describe(
    "TLS: true, or options passed to Node's tls.connect: ca, cert, key (PEM text), passphrase, " +
      "servername, reject_unauthorized.",
    { ca: "${KAFKA_CA_PEM}" },
  ),
  sasl: object({
    mechanism: oneOf(["plain", "scram-sha-256", "scram-sha-512"] as const).describe(
      "SASL mechanism.",
    ),
    username: string().describe("SASL user name."),
    password: string({ nonEmpty: false }).describe(
      "SASL password; use ${ENV}.",
      "${KAFKA_PASSWORD}",
    ),
  }).optional().describe("SASL authentication."),
  connection_timeout: duration().default(1000).describe("Time allowed to open a TCP connection."),
  request_timeout: duration().default(30_000).describe("Time allowed for one request."),
});

export interface ClientConfig {
  brokers: string[];
  client_id: string;
  ssl?: unknown;
  sasl?: {
    mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
    username: string;
    password: string;
  };
  connection_timeout: number;
  request_timeout: number;
}

const KAFKAJS_LEVEL: Record<number, string> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/**
 * A kafkajs client for `config`. kafkajs's own log lines go to `log` at debug level,
 * tagged with their kafkajs level: the source and sink report every failure that
 * matters themselves, in one line each, and kafkajs would otherwise print JSON.
 * (`KAFKAJS_LOG_LEVEL=debug` makes kafkajs say more.)
 */
export function createKafka(config: ClientConfig, log: Logger): Kafka {
  silenceTimeoutNegativeWarning();
  return new Kafka({
    clientId: config.client_id,
    brokers: config.brokers,
    ssl: tlsOptions(config.ssl),
    sasl: config.sasl as SASLOptions | undefined,
    connectionTimeout: config.connection_timeout,
    requestTimeout: config.request_timeout,
    // Short inline retries: the source and sink retry on their own, and report each
    // failure, instead of waiting out a long retry budget in silence.
    retry: { retries: 3, initialRetryTime: 250, maxRetryTime: 5000 },
    logLevel: logLevel.INFO,
    logCreator: () => ({ namespace, level, log: entry }) => {
      const { message, error } = entry as { message: string; error?: unknown };
      const detail = error === undefined ? "" : `: ${oneLine(String(error))}`;
      log.debug(
        `kafkajs ${KAFKAJS_LEVEL[level] ?? level} ${namespace}: ${oneLine(message)}${detail}`,
      );
    },
  });
}

/** `ssl` from the config as kafkajs takes it: snake_case keys become camelCase. */
export function tlsOptions(ssl: unknown): KafkaConfig["ssl"] {
  if (ssl === undefined || typeof ssl === "boolean") return ssl;
  return Object.fromEntries(
    Object.entries(ssl as Record<string, unknown>).map((
      [k, v],
    ) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]),
  );
}

/** What went wrong, in words a user can act on, and whether waiting may fix it. */
export interface KafkaProblem {
  /** `local`: not a Kafka error at all (e.g. storing the records failed). */
  kind: "unreachable" | "missing_topic" | "timeout" | "auth" | "other" | "local";
  message: string;
  retriable: boolean;
}

interface KafkaJSLike extends Error {
  type?: string;
  retriable?: boolean;
  cause?: unknown;
}

/** Describes a kafkajs error in one line, from its innermost cause. */
export function describeKafkaError(error: unknown): KafkaProblem {
  let e = (error instanceof Error ? error : new Error(String(error))) as KafkaJSLike;
  while (e.cause instanceof Error) e = e.cause as KafkaJSLike;
  const message = oneLine(e.message);
  if (e.name === "KafkaJSConnectionError" || e.name === "KafkaJSConnectionClosedError") {
    return {
      kind: "unreachable",
      message: `cannot connect: ${message.replace(/^Connection error: /, "")}`,
      retriable: true,
    };
  }
  if (e.type === "UNKNOWN_TOPIC_OR_PARTITION") {
    return { kind: "missing_topic", message: "the topic does not exist", retriable: true };
  }
  if (e.name === "KafkaJSRequestTimeoutError") {
    return { kind: "timeout", message: `no answer: ${message}`, retriable: true };
  }
  if (e.name === "KafkaJSSASLAuthenticationError" || /AUTHORIZATION|SASL/.test(e.type ?? "")) {
    return { kind: "auth", message: `not allowed: ${message}`, retriable: false };
  }
  if (!e.name.startsWith("KafkaJS")) {
    return {
      kind: "local",
      message: e.name === "Error" ? message : `${e.name}: ${message}`,
      retriable: true,
    };
  }
  return { kind: "other", message, retriable: e.retriable !== false };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

let warningFilterInstalled = false;

/**
 * kafkajs's request queue arms `setTimeout` with a negative delay when idle, and Deno's
 * Node compatibility prints a TimeoutNegativeWarning for it once per process. It is
 * harmless (the delay becomes 1 ms); this drops that one warning and keeps the others.
 */
export function silenceTimeoutNegativeWarning(): void {
  if (warningFilterInstalled) return;
  warningFilterInstalled = true;
  const listeners = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (warning: Error) => {
    if (warning.name === "TimeoutNegativeWarning") return;
    if (listeners.length) { for (const listener of listeners) listener(warning); }
    else console.warn(`${warning.name}: ${warning.message}`);
  });
}
