/**
 * `litejoin healthcheck`: asks a running engine's `/healthz` (alive), or with `--ready`
 * its `/readyz` (able to take input and deliver now), and exits 0 when it says yes, 1
 * otherwise. Containers use it for HEALTHCHECK without needing curl.
 */
import { loadConfig } from "../engine/mod.ts";
import { EXIT, fail } from "./exit.ts";

export async function healthcheck(
  opts: { config: string; url?: string; ready?: boolean; timeout: string },
): Promise<void> {
  let url = opts.url;
  try {
    if (!url) {
      const { hostname, port } = (await loadConfig(opts.config)).http.listen;
      const host = hostname === "0.0.0.0"
        ? "127.0.0.1"
        : hostname === "::"
        ? "[::1]"
        : hostname.includes(":")
        ? `[${hostname}]`
        : hostname;
      url = `http://${host}:${port}${opts.ready ? "/readyz" : "/healthz"}`;
    }
  } catch (error) {
    fail(error);
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(Number(opts.timeout) * 1000) });
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
