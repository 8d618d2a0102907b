/**
 * Checks that the machine has what the test suite needs beyond Deno, and installs it
 * with apt-get when running as root on Debian/Ubuntu. Otherwise prints one line naming
 * what to install, and exits 1.
 *
 *   deno run -A tests/setup.ts
 *
 * Each requirement is one entry of NEEDS: add yours there.
 */

interface Need {
  /** What the tests use it for. */
  why: string;
  /** Resolves true when it is present. */
  present: () => Promise<boolean>;
  /** Debian packages that provide it. */
  apt: string[];
  /** Handy but not needed: installed when possible, never a reason to fail. */
  optional?: boolean;
}

function exists(path: string): Promise<boolean> {
  return Deno.stat(path).then(() => true, () => false);
}

async function succeeds(command: string, args: string[] = []): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

const NEEDS: Need[] = [
  {
    why: "the browser tests (tests/browser_test.ts) drive Debian's chromium with playwright-core",
    present: () => exists(Deno.env.get("LITEJOIN_CHROMIUM") ?? "/usr/bin/chromium"),
    apt: ["chromium", "fonts-dejavu-core"],
  },
  {
    why: "the mock Kafka broker (tests/kafka/mock_broker.c) is compiled with a C compiler",
    present: () => succeeds("cc", ["--version"]),
    apt: ["gcc", "libc6-dev"],
  },
  {
    why: "the mock Kafka broker links librdkafka, found with pkg-config",
    present: () => succeeds("pkg-config", ["--exists", "rdkafka"]),
    apt: ["pkg-config", "librdkafka-dev"],
  },
  {
    why:
      "s3rver, the local S3 of the tiering tests, runs under Node with --openssl-legacy-provider",
    present: () => succeeds("node", ["--openssl-legacy-provider", "-e", "0"]),
    apt: ["nodejs"],
  },
  {
    why: "the console's real-terminal tests (tests/tui_test.ts) run litejoin tui inside tmux",
    present: () => succeeds("tmux", ["-V"]),
    apt: ["tmux"],
  },
  {
    why:
      "the HTTPS tests (tests/https_test.ts, engine/http/tls_test.ts) make a CA and certificates with openssl",
    present: () => succeeds("openssl", ["version"]),
    apt: ["openssl"],
  },
  {
    why: "kcat, to look at the mock broker's topics by hand",
    present: () => succeeds("kcat", ["-V"]),
    apt: ["kcat"],
    optional: true,
  },
];

const missing: Need[] = [];
for (const need of NEEDS) if (!(await need.present())) missing.push(need);
if (missing.length === 0) Deno.exit(0);

const packages = [...new Set(missing.flatMap((n) => n.apt))];
const isRoot = Deno.uid?.() === 0;
const hasApt = await succeeds("apt-get", ["--version"]);
if (!isRoot || !hasApt) {
  if (missing.every((n) => n.optional)) Deno.exit(0);
  console.error(
    `tests/setup.ts: the tests need ${packages.join(" ")} (${
      missing.map((n) => n.why).join("; ")
    }); ` +
      `install them, e.g. sudo apt-get install -y ${packages.join(" ")}`,
  );
  Deno.exit(1);
}

console.error(`tests/setup.ts: installing ${packages.join(" ")} with apt-get`);
const env = { DEBIAN_FRONTEND: "noninteractive" };
for (
  const args of [["update", "-q"], ["install", "-y", "-q", ...packages]]
) {
  const status = await new Deno.Command("apt-get", {
    args,
    env,
    stdout: "inherit",
    stderr: "inherit",
  })
    .spawn().status;
  if (!status.success) {
    console.error(`tests/setup.ts: apt-get ${args[0]} failed (exit ${status.code})`);
    Deno.exit(1);
  }
}
for (const need of missing) {
  if (!need.optional && !(await need.present())) {
    console.error(`tests/setup.ts: still missing after apt-get: ${need.why}`);
    Deno.exit(1);
  }
}
