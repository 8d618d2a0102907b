/** Fakes for DLQ unit tests: a clock that moves only when told, and a sink that records. */
import type { Clock, Result } from "../types.ts";
import { DeliveryError, type Sink } from "../sinks/sink.ts";

export class FakeClock implements Clock {
  constructor(public t = 1_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/**
 * A sink that records every batch it accepts. `fail` decides per batch: undefined to
 * accept, "down" for a transient failure, "refuse" for a permanent one, or an error to throw.
 */
export class RecordingSink implements Sink {
  readonly batches: Result[][] = [];
  readonly attempts: Result[][] = [];
  fail: (batch: readonly Result[]) => "down" | "refuse" | Error | undefined = () => undefined;
  /** Awaited before each send decides, to hold a send in flight. */
  hold: () => Promise<void> = () => Promise.resolve();

  constructor(readonly name = "hook") {}

  async send(results: readonly Result[]): Promise<void> {
    this.attempts.push([...results]);
    await this.hold();
    const verdict = this.fail(results);
    if (verdict === "down") throw new DeliveryError("peer is down");
    if (verdict === "refuse") throw new DeliveryError("answered 400", { permanent: true });
    if (verdict instanceof Error) throw verdict;
    this.batches.push([...results]);
  }

  /** Keys of every accepted result, in order. */
  keys(): string[] {
    return this.batches.flat().map((r) => r.key);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export function result(key: string, row: Record<string, unknown> = {}, name = "j"): Result {
  return { name, key, row: { id: key, ...row }, timestamp: 1, _change: { op: "insert" } };
}
