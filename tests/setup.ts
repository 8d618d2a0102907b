/**
 * Installs what the tests need beyond Deno and npm packages, on a fresh Debian
 * machine; the `test` task runs it before the suite. As root, missing packages are
 * installed with apt-get; otherwise one line names what to install. One entry per need.
 */

interface Need {
  /** What it is for, as printed. */
  what: string;
  present(): boolean;
  apt: string[];
}

const exists = (path: string) => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};

export const NEEDS: Need[] = [
  {
    what: "chromium, for the browser tests (tests/browser_test.ts)",
    present: () => exists(Deno.env.get("LITEJOIN_CHROMIUM") ?? "/usr/bin/chromium"),
    apt: ["chromium", "fonts-dejavu-core"],
  },
];

async function apt(args: string[]): Promise<void> {
  const { code } = await new Deno.Command("apt-get", {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`apt-get ${args.join(" ")} exited with ${code}`);
}

if (import.meta.main) {
  const missing = NEEDS.filter((need) => !need.present());
  const packages = [...new Set(missing.flatMap((need) => need.apt))];
  if (missing.length === 0) Deno.exit(0);
  if (Deno.uid() !== 0) {
    console.error(
      `tests/setup: missing ${missing.map((n) => n.what).join("; ")}: ` +
        `install with: sudo apt-get install -y ${packages.join(" ")}`,
    );
    Deno.exit(0); // the suite still runs; the tests that need them say what is missing
  }
  console.error(`tests/setup: installing ${packages.join(", ")} with apt-get`);
  try {
    await apt(["update"]);
    await apt(["install", "-y", ...packages]);
  } catch (error) {
    console.error(`tests/setup: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
