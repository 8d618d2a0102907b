/** Debian's chromium, driven by playwright-core (whose own browser download is not used). */
import { type Browser, chromium } from "playwright-core";

/** `/usr/bin/chromium` is Debian's wrapper script; LITEJOIN_CHROMIUM overrides it. */
export const CHROMIUM = Deno.env.get("LITEJOIN_CHROMIUM") ?? "/usr/bin/chromium";

/** The flags that work offline, as root, without a GPU. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
];

export async function launchChromium(): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `no chromium at ${CHROMIUM}: run deno run -A tests/setup.ts as root, or apt-get install chromium`,
    );
  }
  return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}
