/**
 * A program in a real terminal: tmux, driven with send-keys and read with capture-pane.
 *
 *   const t = await Tmux.start(["deno", "run", "-A", "cli/main.ts", "tui"], { cols: 80, rows: 24 });
 *   try {
 *     await t.waitForText(/SHARD/);
 *     await t.waitForRawMode();          // Ink turns raw mode on just after its first frame
 *     await t.sendKeys("Down", "Enter"); // tmux key names; sendText() for literal text
 *     await t.sendKeys("q");
 *     assert.equal(await t.waitForExit(), 0);
 *   } finally {
 *     await t.kill();
 *   }
 *
 * Each session has its own tmux server and a config with the status line off, so the
 * pane is exactly cols x rows. The program runs under a small shell that records its
 * exit status and `stty -a` once it ends, then idles so that its last screen stays.
 * CI variables are removed from its environment: Ink and its colour library change
 * behaviour when one is merely present.
 */

export interface TmuxOptions {
  cols?: number;
  rows?: number;
  cwd?: string;
  env?: Record<string, string>;
  /** Variables removed from the program's environment. */
  unsetEnv?: string[];
}

const decoder = new TextDecoder();
let sessions = 0;

function quote(s: string): string {
  return /^[A-Za-z0-9_\/.:=@%+,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

async function tmux(server: string, args: string[], check = true) {
  const out = await new Deno.Command("tmux", {
    args: ["-L", server, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const result = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  if (check && out.code !== 0) {
    throw new Error(`tmux ${args.join(" ")} failed (${out.code}): ${result.stderr.trim()}`);
  }
  return result;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Tmux {
  private constructor(
    readonly server: string,
    readonly dir: string,
    /** The program's pid (a child of the wrapper shell), or -1 if it ended at once. */
    readonly pid: number,
  ) {}

  static async start(command: string[], opts: TmuxOptions = {}): Promise<Tmux> {
    const server = `lj-test-${Deno.pid}-${++sessions}`;
    const dir = await Deno.makeTempDir({ prefix: "lj-tmux-" });
    await Deno.writeTextFile(
      `${dir}/tmux.conf`,
      [
        "set -g status off",
        "set -g history-limit 2000",
        "set -g default-terminal xterm-256color",
        "set -sg escape-time 0",
        "",
      ].join("\n"),
    );
    const unset = (opts.unsetEnv ?? ["CI", "CONTINUOUS_INTEGRATION"]).flatMap((k) => ["-u", k]);
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    // `trap : INT` keeps the wrapper alive through a Ctrl+C sent before raw mode is on;
    // a trapped signal is reset to its default for the program it starts.
    const script =
      'trap : INT; s=$1; t=$2; shift 2; "$@"; st=$?; stty -a > "$t" 2>&1; echo "$st" > "$s"; exec sleep 86400';
    const shell = [
      "sh",
      "-c",
      script,
      "lj-wrap",
      `${dir}/status`,
      `${dir}/stty`,
      "env",
      ...unset,
      ...env,
      ...command,
    ]
      .map(quote).join(" ");
    const args = ["-f", `${dir}/tmux.conf`, "new-session", "-d", "-s", "main"];
    args.push("-x", String(opts.cols ?? 80), "-y", String(opts.rows ?? 24));
    if (opts.cwd) args.push("-c", opts.cwd);
    await tmux(server, [...args, shell]);
    const panePid = Number(
      (await tmux(server, ["display-message", "-p", "-t", "main", "#{pane_pid}"])).stdout.trim(),
    );
    let pid = -1;
    for (let i = 0; i < 200 && pid < 0; i++) {
      try {
        const kids = Deno.readTextFileSync(`/proc/${panePid}/task/${panePid}/children`).trim();
        if (kids) pid = Number(kids.split(" ")[0]);
      } catch {
        break;
      }
      if (pid < 0) await pause(10);
    }
    return new Tmux(server, dir, pid);
  }

  /** tmux key names: Up, Down, Enter, Escape, BSpace, Tab, NPage, PPage, C-c, q … */
  async sendKeys(...keys: string[]): Promise<void> {
    await tmux(this.server, ["send-keys", "-t", "main", ...keys]);
  }

  /** Literal text, typed as it is. */
  async sendText(text: string): Promise<void> {
    // tmux reads a semicolon ending an argument as a command separator, unless escaped.
    const arg = text.endsWith(";") ? `${text.slice(0, -1)}\\;` : text;
    await tmux(this.server, ["send-keys", "-t", "main", "-l", "--", arg]);
  }

  /** The screen as text (with `escapes`, SGR colour codes kept). */
  async capture(opts: { escapes?: boolean } = {}): Promise<string> {
    const args = ["capture-pane", "-p", "-t", "main"];
    if (opts.escapes) args.push("-e");
    return (await tmux(this.server, args)).stdout;
  }

  /** The screen's lines, exactly `rows` of them. */
  async lines(): Promise<string[]> {
    return (await this.capture()).replace(/\n$/, "").split("\n");
  }

  /** Polls the screen until `pattern` shows; the error shows the last screen. */
  async waitForText(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    for (;;) {
      screen = await this.capture();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) break;
      await pause(50);
    }
    throw new Error(`timed out waiting for ${pattern}; the screen was:\n${screen}`);
  }

  async resize(cols: number, rows: number): Promise<void> {
    await tmux(this.server, [
      "resize-window",
      "-t",
      "main",
      "-x",
      String(cols),
      "-y",
      String(rows),
    ]);
  }

  async #tty(): Promise<string> {
    const tty = (await tmux(this.server, ["display-message", "-p", "-t", "main", "#{pane_tty}"]))
      .stdout.trim();
    const out = await new Deno.Command("stty", {
      args: ["-a", "-F", tty],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    return decoder.decode(out.stdout);
  }

  /** Waits until the program has put the terminal in raw mode (keys reach it one by one). */
  async waitForRawMode(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!/(^|\s)-icanon(\s|$)/.test(await this.#tty())) {
      if (Date.now() > deadline) {
        throw new Error(`the terminal is not in raw mode after ${timeoutMs} ms`);
      }
      await pause(20);
    }
  }

  /** The program's exit status once it has ended. */
  async waitForExit(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const text = await Deno.readTextFile(`${this.dir}/status`).catch(() => "");
      if (text.trim()) return Number(text.trim());
      await pause(50);
    }
    throw new Error(`still running after ${timeoutMs} ms; the screen:\n${await this.capture()}`);
  }

  /** `stty -a` of the terminal right after the program ended. */
  ttyAfterExit(): Promise<string> {
    return Deno.readTextFile(`${this.dir}/stty`);
  }

  /** Whether the program's process still exists. */
  alive(): boolean {
    if (this.pid < 0) return false;
    try {
      return !/^\d+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${this.pid}/stat`));
    } catch {
      return false;
    }
  }

  /** Ends the tmux server and everything in it, and removes the temp dir. */
  async kill(): Promise<void> {
    await tmux(this.server, ["kill-server"], false);
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
