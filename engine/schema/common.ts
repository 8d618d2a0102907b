/** Field schemas that several components share. */
import { integer, number, object, string } from "./schema.ts";
import { duration } from "./units.ts";
import { DOTTED_PATH } from "../paths.ts";

/** The name of a source, join, window or sink: used in logs, metrics and state. */
export const componentName = () =>
  string({
    pattern: /^[A-Za-z][A-Za-z0-9_-]{0,63}$/,
    hint: "must start with a letter and use letters, digits, _ and - (at most 64)",
  });

export const dottedPath = () =>
  string({
    pattern: DOTTED_PATH,
    hint: "must be a dotted path into the payload, e.g. id or customer.id",
  });

export const httpPath = () =>
  string({
    pattern: /^\/[A-Za-z0-9._~!$&'()*+,;=:@%\/-]*$/,
    hint: "must be a URL path starting with /, e.g. /ingest/orders",
  });

/** Exponential backoff: the delay before retry n is min(max, initial × multiplierⁿ⁻¹), jittered. */
export const backoffSpec = (defaults: { initial: number; max: number; multiplier?: number }) =>
  object({
    initial: duration().default(defaults.initial).describe("Delay before the first retry."),
    max: duration().default(defaults.max).describe("Longest delay between retries."),
    multiplier: number({ min: 1 }).default(defaults.multiplier ?? 2).describe(
      "Factor by which each delay grows: the delay before retry n is min(max, initial × multiplierⁿ⁻¹).",
    ),
    jitter: number({ min: 0, max: 1 }).default(0.2).describe(
      "Fraction of each delay that is randomised, so retries from many clients spread out.",
    ),
  });

/** Fields every sink has: how it retries and how much it sends at once. */
export const deliveryFields = () => ({
  retries: integer({ min: 0, max: 100 }).default(3).describe(
    "Inline attempts after the first failure, before the result takes the failure path.",
  ),
  backoff: backoffSpec({ initial: 200, max: 10_000 }).describe("Delay between inline retries."),
  max_batch: integer({ min: 1, max: 100_000 }).default(500).describe("Most results per send."),
});
