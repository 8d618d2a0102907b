/**
 * Makes sure this machine has what the tests need, installing it when it can, before
 * `deno task test` runs them. Prints one line per missing piece it cannot install and
 * exits 1. Each need is one entry of NEEDS.
 */
import { createRequire } from "node:module";

interface Need {
  /** What the tests use it for. */
  what: string;
  /** Resolves true when present. */
  present(): Promise<boolean>;
  /** Installs it; resolves true on success. */
  install?(): Promise<boolean>;
  /** What a person should do when it cannot be installed here. */
  hint: string;
}

const root = new URL("..", import.meta.url).pathname;

async function succeeds(command: string, args: string[], cwd = root): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, { args, cwd, stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

const NEEDS: Need[] = [
  {
    what: "node (runs s3rver, the local S3 for the tiering tests)",
    present: () => succeeds("node", ["--openssl-legacy-provider", "-e", "0"]),
    hint: "install Node.js 18 or later (https://nodejs.org), e.g. apt-get install nodejs",
  },
  {
    what: "s3rver in node_modules (the local S3 for the tiering tests)",
    present: () => {
      try {
        createRequire(`${root}tests/`).resolve("s3rver/bin/s3rver.js");
        return Promise.resolve(true);
      } catch {
        return Promise.resolve(false);
      }
    },
    install: () => succeeds(Deno.execPath(), ["install"]),
    hint:
      "run `deno install` in the repository (deno.json maps s3rver); if node_modules is damaged, delete it first",
  },
];

let missing = 0;
for (const need of NEEDS) {
  if (await need.present()) continue;
  if (need.install && (await need.install()) && (await need.present())) {
    console.error(`setup: installed ${need.what}`);
    continue;
  }
  console.error(`setup: missing ${need.what}: ${need.hint}`);
  missing++;
}
if (missing) Deno.exit(1);
