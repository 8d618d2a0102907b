/**
 * Installs the system tools the tests need, so that the README's test command works on
 * a fresh Debian machine: with apt-get when run as root, otherwise it prints one line
 * naming what to install and exits 1.
 *
 *   deno run -A tests/setup.ts
 *
 * Each entry is a command the tests run and the Debian package that provides it.
 */
const TOOLS: { command: string; pkg: string; why: string }[] = [
  { command: "tmux", pkg: "tmux", why: "the console's real-terminal tests" },
];

async function has(command: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("sh", {
      args: ["-c", `command -v ${command}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

async function apt(args: string[]): Promise<boolean> {
  const { success } = await new Deno.Command("apt-get", {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return success;
}

const missing = [];
for (const tool of TOOLS) if (!(await has(tool.command))) missing.push(tool);
if (missing.length) {
  const pkgs = missing.map((t) => t.pkg);
  const isRoot = Deno.uid() === 0;
  if (!isRoot || !(await has("apt-get"))) {
    console.error(
      `tests/setup.ts: missing ${missing.map((t) => `${t.command} (${t.why})`).join(", ")}; ` +
        `install it with: sudo apt-get install -y ${pkgs.join(" ")}`,
    );
    Deno.exit(1);
  }
  console.error(`tests/setup.ts: installing ${pkgs.join(", ")} with apt-get`);
  const ok = (await apt(["install", "-y", "--no-install-recommends", ...pkgs])) ||
    ((await apt(["update"])) && (await apt(["install", "-y", "--no-install-recommends", ...pkgs])));
  if (!ok) {
    console.error(`tests/setup.ts: apt-get could not install ${pkgs.join(" ")}`);
    Deno.exit(1);
  }
}
