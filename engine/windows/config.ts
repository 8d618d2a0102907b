/**
 * The `windows:` section of `litejoin.yaml`: one item per window, whose `type` picks
 * its shape (tumbling: size; sliding: size and slide; session: gap, key, max_duration).
 */
import { custom, type Infer, list, object, oneOf, string, tagged } from "../schema/schema.ts";
import { componentName, dottedPath } from "../schema/common.ts";
import { topicName } from "../store/topics.ts";
import { duration } from "../schema/units.ts";
import { asSessionKey, SessionWindows } from "./session.ts";
import { getPath } from "../paths.ts";
import { SlidingWindows } from "./sliding.ts";
import { TumblingWindows } from "./tumbling.ts";
import type { SessionKey, WindowState } from "./window.ts";

/** A length of event time: whole milliseconds, at least 1ms. */
const span = () =>
  duration().check((ms) =>
    Number.isInteger(ms) && ms >= 1
      ? undefined
      : "must be a whole number of milliseconds, at least 1ms"
  );

/** What happens to an event that arrives for a window that has already closed. */
export interface LatePolicy {
  /** The sink that receives late events; without one they are counted and dropped. */
  sink?: string;
}

const latePolicy = () =>
  custom<LatePolicy>("drop | sink NAME", (raw) => {
    if (raw === "drop") return {};
    const match = typeof raw === "string"
      ? /^sink\s+([A-Za-z][A-Za-z0-9_-]*)$/.exec(raw.trim())
      : null;
    if (match) return { sink: match[1] };
    return {
      error: `${JSON.stringify(raw)} is not drop or sink NAME (write e.g. late: sink late_events)`,
    };
  });

export const windowSpec = tagged({
  name: componentName().describe(
    "Name of the window, used in results, logs, metrics and meta.db. Not the name of a join.",
    "revenue_5m",
  ),
  grace: duration().default(0).describe(
    "How long after its end a window still takes events; it closes at end + grace.",
    "10s",
  ),
  time: dottedPath().optional().describe(
    "Dotted path of a payload field holding the event time: epoch milliseconds, or ISO-8601 (read " +
      "as UTC without a zone); by default the message timestamp.",
    "occurred_at",
  ),
  topic: topicName().optional().describe(
    "The topic whose messages open windows; by default the one topic the SQL reads (required when " +
      "it reads several).",
  ),
  emit: oneOf(["close", "update"] as const).default("close").describe(
    "close: one result set per window, when it closes; update: also while it is open, whenever it " +
      "changes (rows then carry window_final).",
  ),
  row_key: string().optional().describe(
    "The result column that tells the rows of one window apart, for SQL that returns several " +
      "(e.g. GROUP BY region).",
    "region",
  ),
  late: latePolicy().default({}).describe(
    "drop (counted in litejoin_window_late_total), or sink NAME to deliver late events there.",
    "sink late_events",
  ),
  sql: string().describe(
    "One SELECT, run when a window closes with :window_start and :window_end (epoch ms) and, for " +
      "sessions, :session_key bound.",
  ),
  sinks: list(componentName(), { min: 1 }).describe("Sinks that receive the window results."),
}, {
  tumbling: object({
    size: span().describe(
      "Length of each window. Windows are aligned to the Unix epoch (UTC); start inclusive, end " +
        "exclusive.",
      "5m",
    ),
  }),
  sliding: object({
    size: span().describe(
      "Length of each window, aligned to the Unix epoch (UTC); start inclusive, end exclusive.",
      "10m",
    ),
    slide: span().describe(
      "How often a window starts (at most size); an event belongs to about size / slide windows.",
      "1m",
    ),
  }),
  session: object({
    gap: span().describe(
      "A key's session ends once no event follows for this long. It spans [first event, last " +
        "event + gap); an event that bridges two sessions merges them.",
      "30m",
    ),
    key: dottedPath().describe(
      "Dotted path of the session key in the payload (a string or a number).",
      "user.id",
    ),
    max_duration: span().optional().describe(
      "Longest span of one session; an event beyond it starts the next session.",
      "12h",
    ),
  }),
});

export type WindowConfig = Infer<typeof windowSpec>;

/**
 * What a window's kind decides, so that the shared run (`run.ts`) has no branch on it:
 * its empty state, the shape its recorded state depends on, and, for windows kept per
 * key (sessions), where an event's key is and how to read it.
 */
export interface WindowKind {
  state: WindowState;
  shape: unknown[];
  key?: {
    /** The dotted payload path, for messages about events without a key. */
    path: string;
    /** The event's key, or undefined when it has none (it then counts in no window). */
    of(payload: unknown): SessionKey | undefined;
  };
}

export function kindOf(c: WindowConfig): WindowKind {
  const key = c.type === "session"
    ? { path: c.key, of: (payload: unknown) => asSessionKey(getPath(payload, c.key)) }
    : undefined;
  return { state: stateFor(c), shape: shapeOf(c), key };
}

/** The empty window state of a configured window. */
export function stateFor(c: WindowConfig): WindowState {
  return c.type === "tumbling"
    ? new TumblingWindows(c.size, c.grace)
    : c.type === "sliding"
    ? new SlidingWindows(c.size, c.slide, c.grace)
    : new SessionWindows(c.gap, c.max_duration, c.grace);
}

/** What makes recorded window state mean the same thing: the shape of the windows and their time. */
export function shapeOf(c: WindowConfig): unknown[] {
  const shape = c.type === "tumbling"
    ? [c.type, c.size]
    : c.type === "sliding"
    ? [c.type, c.size, c.slide]
    : [c.type, c.gap, c.max_duration ?? null, c.key];
  return [...shape, c.time ?? null];
}
