/**
 * Sending claimed entries to their sink, shared by the retry worker and replays: inside
 * the sink's gate, only entries still held (not superseded meanwhile) are sent, oldest
 * first; a batch the peer refuses for good is split until the refused entries stand
 * alone, so one bad result never holds back the others.
 */
import { type Backoff, backoffDelay } from "../backoff.ts";
import { DeliveryError } from "../sinks/sink.ts";
import type { Claimed, DlqStore, Reschedule } from "./store.ts";
import type { SinkGate } from "./gate.ts";

export interface RetryPolicy {
  /** Failed attempts after which an entry is `dead`. */
  maxAttempts: number;
  backoff: Backoff;
  /** For jitter; injected so that tests can fix it. */
  random?: () => number;
}

/**
 * Where an entry goes after a failed attempt: `dead` once refused for good (alone) or out
 * of attempts, else `retrying` after the backoff for its attempt count (at least the
 * peer's Retry-After). A dead entry sent by a replay stays dead if it fails again.
 */
export function rescheduler(
  policy: RetryPolicy,
  now: number,
  error: unknown,
  alone: boolean,
): Reschedule {
  const permanent = error instanceof DeliveryError && error.permanent && alone;
  const retryAfter = error instanceof DeliveryError ? error.opts.retryAfterMs ?? 0 : 0;
  return ({ attempts, status }) => {
    if (status === "dead" || permanent || attempts >= policy.maxAttempts) {
      return { status: "dead", next_attempt_at: null };
    }
    const wait = Math.max(backoffDelay(policy.backoff, attempts, policy.random), retryAfter);
    return { status: "retrying", next_attempt_at: now + Math.round(wait) };
  };
}

export interface Outcome {
  /** Entries sent and accepted. */
  delivered: number;
  /** Entries sent and refused (rescheduled, or dead). */
  failed: number;
  /** Of those, entries now dead. */
  dead: number;
  /** Claimed entries not sent: a newer result for their key was delivered meanwhile. */
  superseded: number;
  /** The last error when a send failed for a reason other than the content (peer down). */
  transient?: Error;
}

export const emptyOutcome = (): Outcome => ({ delivered: 0, failed: 0, dead: 0, superseded: 0 });

export function addOutcome(into: Outcome, o: Outcome): Outcome {
  into.delivered += o.delivered;
  into.failed += o.failed;
  into.dead += o.dead;
  into.superseded += o.superseded;
  into.transient = o.transient ?? into.transient;
  return into;
}

/**
 * Sends `entries` (all claimed by `owner`, all of `gate`'s sink) and records each
 * outcome in the store. Never throws for a failed send: the failure is recorded.
 */
export async function redeliver(
  store: DlqStore,
  gate: SinkGate,
  entries: readonly Claimed[],
  owner: string,
  policy: RetryPolicy,
  now: () => number,
): Promise<Outcome> {
  const outcome = emptyOutcome();
  for (let i = 0; i < entries.length; i += gate.maxBatch) {
    addOutcome(outcome, await sendBatch(entries.slice(i, i + gate.maxBatch)));
  }
  return outcome;

  async function sendBatch(batch: readonly Claimed[]): Promise<Outcome> {
    const outcome = emptyOutcome();
    let error: unknown;
    let sent: Claimed[] = [];
    await gate.exclusive(async () => {
      const held = store.stillHeld(batch.map((e) => e.id), owner);
      sent = batch.filter((e) => held.has(e.id));
      outcome.superseded = batch.length - sent.length;
      if (sent.length === 0) return;
      try {
        await gate.send(sent.map((e) => e.result));
        store.delivered(gate.name, sent, now(), owner);
        outcome.delivered = sent.length;
      } catch (e) {
        error = e;
      }
    });
    if (error === undefined) return outcome;
    const permanent = error instanceof DeliveryError && error.permanent;
    if (permanent && sent.length > 1) {
      const half = Math.ceil(sent.length / 2);
      addOutcome(outcome, await sendBatch(sent.slice(0, half)));
      return addOutcome(outcome, await sendBatch(sent.slice(half)));
    }
    const message = error instanceof Error ? error.message : String(error);
    const at = now();
    const { dead } = store.failed(
      sent.map((e) => e.id),
      owner,
      message,
      at,
      rescheduler(policy, at, error, sent.length === 1),
    );
    outcome.failed = sent.length;
    outcome.dead = dead;
    if (!permanent) outcome.transient = error instanceof Error ? error : new Error(message);
    return outcome;
  }
}
