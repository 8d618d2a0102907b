/**
 * How deep JSON may nest. SQLite's JSON functions read at most 1000 levels of arrays
 * and objects (its JSON_MAX_DEPTH); a payload nested deeper is "malformed JSON" to
 * every `json_extract` over its topic, so storing one would break each join and window
 * that reads the topic. Sources refuse such payloads instead.
 */
export const MAX_JSON_DEPTH = 1000;

/** True when `value` nests arrays and objects more than `max` levels deep (the value itself is level 1). */
export function nestedDeeperThan(value: unknown, max = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== "object") return false;
  // Iterative: a recursive walk would overflow the stack on the very input it guards against.
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node as object)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** The one-line reason a payload is refused, naming the limit. */
export function tooDeepMessage(max = MAX_JSON_DEPTH): string {
  return `nested deeper than ${max} levels of arrays and objects, more than SQLite's JSON functions read`;
}
