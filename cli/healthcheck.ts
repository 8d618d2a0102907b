/**
 * `litejoin healthcheck`: asks a running engine's `/healthz` (alive), or with `--ready`
 * its `/readyz` (able to take input and deliver now), and exits 0 when it says yes, 1
 * otherwise. Containers use it for HEALTHCHECK without needing curl.
 */
import { loadConfig } from "../engine/mod.ts";
import { resolvePath } from "../engine/mod.ts";
import { EXIT, fail } from "./exit.ts";

export async function healthcheck(
  opts: { config: string; url?: string; ready?: boolean; timeout: string },
): Promise<void> {
  let url = opts.url;
  let client: Deno.HttpClient | undefined;
  try {
    if (!url) {
      const config = await loadConfig(opts.config);
      const { listen: { hostname, port }, tls } = config.http;
      const host = hostname === "0.0.0.0"
        ? "127.0.0.1"
        : hostname === "::"
        ? "[::1]"
        : hostname.includes(":")
        ? `[${hostname}]`
        : hostname;
      url = `${tls ? "https" : "http"}://${host}:${port}${opts.ready ? "/readyz" : "/healthz"}`;
      // A self-signed certificate is its own CA; one from a CA is trusted by the system.
      if (tls) {
        const pem = await Deno.readTextFile(resolvePath(config, tls.cert_file));
        client = Deno.createHttpClient({ caCerts: [pem] });
      }
    }
  } catch (error) {
    fail(error);
  }
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(Number(opts.timeout) * 1000),
      client,
    });
    const body = await response.text();
    if (response.ok) {
      console.log(`${url}: ${body.trim()}`);
      Deno.exit(EXIT.ok);
    }
    console.error(`litejoin: ${url} answered ${response.status}: ${body.trim()}`);
  } catch (error) {
    console.error(`litejoin: ${url} did not answer: ${(error as Error).message}`);
  }
  Deno.exit(EXIT.failure);
}
