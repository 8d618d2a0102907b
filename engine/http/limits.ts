/**
 * Limits of the HTTP listener (`http.limits`): how long a client may take to send its
 * headers and its request, how long an idle connection or a stalled response is kept,
 * how many connections are served at once, and the largest body of a route that sets
 * no limit of its own. A slow or stuck client cannot hold a connection for longer than
 * these allow.
 */
import { type Infer, integer, object } from "../schema/schema.ts";
import { duration, size } from "../schema/units.ts";

const positive = (what: string) => (ms: number) =>
  ms > 0 ? undefined : `must be above 0 (${what} cannot be switched off)`;

export const limitsSpec = object({
  max_connections: integer({ min: 1, max: 1_000_000 }).default(10_000).describe(
    "Open connections (event streams included) served at once. The next ones are answered " +
      "503 and closed; past twice this many they are closed without an answer.",
  ),
  header_timeout: duration().default(10_000).check(positive("the header timeout")).describe(
    "Time a client has to send a request's headers, from the connection or the end of its " +
      "previous request; 408 and the connection closed after it (slow-loris clients).",
  ),
  request_timeout: duration().default(60_000).check(positive("the request timeout")).describe(
    "Time a client has to send a whole request, body included (not the response: event " +
      "streams are not cut by it); 408 after it.",
  ),
  idle_timeout: duration().default(30_000).check(positive("the idle timeout")).describe(
    "An idle keep-alive connection is closed after this long, and so is one whose client " +
      "has not taken any of the response for this long.",
  ),
  max_body: size().default(64 * 1024).describe(
    "Largest request body on routes without a limit of their own (every route but the " +
      "sources, which have max_body); 413 above it.",
  ),
}).check((l) =>
  l.header_timeout > l.request_timeout
    ? "header_timeout must not be longer than request_timeout (headers are part of the request)"
    : undefined
);

export type Limits = Infer<typeof limitsSpec>;

/** The defaults, for servers built without a config (tests, tools). */
export const DEFAULT_LIMITS: Limits = {
  max_connections: 10_000,
  header_timeout: 10_000,
  request_timeout: 60_000,
  idle_timeout: 30_000,
  max_body: 64 * 1024,
};
