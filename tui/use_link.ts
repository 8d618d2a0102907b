/** The engine link's state, re-rendering on every change. */
import { useSyncExternalStore } from "react";
import type { Link, LinkState } from "./link.ts";

export function useLink(link: Link): LinkState {
  return useSyncExternalStore(
    (fn) => link.subscribe(fn),
    () => link.state(),
  );
}
