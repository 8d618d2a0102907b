/** Webhook sink: POSTs each batch of results as a JSON array to a URL. */
import { type Infer, object, record, string } from "../schema/schema.ts";
import { deliveryFields } from "../schema/common.ts";
import { duration } from "../schema/units.ts";
import type { Result } from "../types.ts";
import { DeliveryError, type Sink } from "./sink.ts";

export const spec = object({
  url: string({ pattern: /^https?:\/\/\S+$/, hint: "must be an http:// or https:// URL" })
    .describe("Webhook URL.", "http://127.0.0.1:9000/hook"),
  headers: record(string({ nonEmpty: false })).default({}).describe(
    "Extra request headers, e.g. Authorization: Bearer ${HOOK_TOKEN}.",
  ),
  timeout: duration().default(10_000).describe("Time allowed for one request."),
  ca_file: string().optional().describe(
    "PEM file of CA certificates to trust for an https:// URL, besides the system's (a " +
      "private CA or a self-signed receiver); relative to the config file.",
    "./tls/ca.pem",
  ),
  ...deliveryFields(),
});

/** `ca_file` may be left out by code that builds a sink itself. */
export type HttpSinkConfig = Omit<Infer<typeof spec>, "ca_file"> & { ca_file?: string };

/**
 * The body is a JSON array of `{name, key, row, timestamp, _change}`. Any 2xx is
 * success; 408, 429 and 5xx are retried (honouring Retry-After); other 4xx are
 * permanent failures; network errors and timeouts are retried.
 */
export class HttpSink implements Sink {
  readonly #client: Deno.HttpClient | undefined;

  /** `config.ca_file`, when set, is a path the caller resolved; it is read here. */
  constructor(readonly name: string, readonly config: HttpSinkConfig) {
    if (config.ca_file === undefined) return;
    let pem: string;
    try {
      pem = Deno.readTextFileSync(config.ca_file);
    } catch (error) {
      throw new Error(
        `sink ${name}: cannot read ca_file ${config.ca_file}: ${(error as Error).message}`,
      );
    }
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
      throw new Error(`sink ${name}: ca_file ${config.ca_file} holds no PEM certificate`);
    }
    this.#client = Deno.createHttpClient({ caCerts: [pem] });
  }

  async send(results: readonly Result[]): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.config.url, {
        method: "POST",
        headers: { "content-type": "application/json", ...this.config.headers },
        body: JSON.stringify(results),
        signal: AbortSignal.timeout(this.config.timeout),
        client: this.#client,
      });
    } catch (error) {
      const e = error as Error;
      const what = e.name === "TimeoutError"
        ? `no answer within ${this.config.timeout} ms`
        : e.cause instanceof Error && !e.message.includes(e.cause.message)
        ? `${e.message}: ${e.cause.message}` // e.g. the certificate a TLS handshake refused
        : e.message;
      throw new DeliveryError(`POST ${this.config.url} failed: ${what}`, { cause: error });
    }
    const text = await response.text().catch(() => "");
    if (response.ok) return;
    const status = response.status;
    const retryable = status === 408 || status === 429 || status >= 500;
    const retryAfter = Number(response.headers.get("retry-after"));
    throw new DeliveryError(
      `POST ${this.config.url} answered ${status}${text ? `: ${text.slice(0, 200)}` : ""}`,
      {
        permanent: !retryable,
        retryAfterMs: Number.isFinite(retryAfter) && retryAfter >= 0
          ? Math.min(retryAfter, 60) * 1000
          : undefined,
      },
    );
  }

  close(): Promise<void> {
    this.#client?.close();
    return Promise.resolve();
  }
}
