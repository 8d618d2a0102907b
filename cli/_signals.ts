/**
 * Stop signals for `litejoin run`: the first SIGINT or SIGTERM starts the orderly stop,
 * and only a deliberate second one exits at once.
 *
 * One Ctrl-C often arrives two or three times within milliseconds: the terminal sends
 * SIGINT to its whole foreground process group, and a launcher in that group (`deno
 * task`, `npx`, tini) forwards its own copy to its child. `kill -TERM -<pgid>` does the
 * same with SIGTERM. So a signal within `repeatWindowMs` of the first is the same
 * request, and is ignored; one after the window is the operator insisting.
 */

export type StopSignal = "SIGINT" | "SIGTERM";

/** How long after the first stop signal further ones count as copies of it. */
export const REPEAT_WINDOW_MS = 1000;

export interface StopSignalsOptions {
  now: () => number;
  repeatWindowMs?: number;
  /** The first signal: begin the orderly stop. */
  stop: (signal: StopSignal) => void;
  /** A signal after the window: exit at once. */
  force: (signal: StopSignal) => void;
}

/** Decides what each stop signal means; see the module comment. */
export class StopSignals {
  #first: number | undefined;

  constructor(readonly opts: StopSignalsOptions) {}

  /** The first signal received, if any. */
  signal: StopSignal | undefined;

  /** Handles one signal; returns what it was taken for. */
  receive(signal: StopSignal): "stop" | "repeat" | "force" {
    const now = this.opts.now();
    if (this.#first === undefined) {
      this.#first = now;
      this.signal = signal;
      this.opts.stop(signal);
      return "stop";
    }
    if (now - this.#first < (this.opts.repeatWindowMs ?? REPEAT_WINDOW_MS)) return "repeat";
    this.opts.force(signal);
    return "force";
  }

  /** Listens for SIGINT and SIGTERM on this process. */
  listen(): void {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, () => this.receive(signal));
    }
  }
}
