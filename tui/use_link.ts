/** The engine link's state, re-rendering when it changes. */
import { useCallback, useRef, useSyncExternalStore } from "react";
import type { Link, LinkState } from "./link.ts";

/**
 * With `followStats` false, a stats push alone does not re-render: a view that renders
 * on its own cadence (the tail, once a second) then shows the stats of that moment from
 * `link.state()`, and the console draws one frame a second instead of two.
 */
export function useLink(link: Link, followStats = true): LinkState {
  const seen = useRef<LinkState | null>(null);
  const snapshot = () => {
    const next = link.state();
    const prev = seen.current;
    if (
      prev && !followStats && prev.connection === next.connection &&
      prev.reason === next.reason && prev.attempt === next.attempt && prev.info === next.info &&
      prev.methods === next.methods
    ) {
      return prev;
    }
    seen.current = next;
    return next;
  };
  const subscribe = useCallback((fn: () => void) => link.subscribe(fn), [link]);
  return useSyncExternalStore(subscribe, snapshot);
}
