/** Calls `fn` every `ms` while `active`; restarts the period when `key` changes. */
import { useEffect, useRef } from "react";

export function useInterval(
  fn: () => void,
  ms: number,
  active: boolean,
  key: unknown = null,
): void {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => latest.current(), ms);
    return () => clearInterval(timer);
  }, [active, ms, key]);
}
