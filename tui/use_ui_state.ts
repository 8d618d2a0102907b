/**
 * The console's UI state, changed only by `reduce`. `dispatch` applies an event at once
 * to the latest state (not the one of the last render), so that several keys from one
 * stdin chunk apply in order, then re-renders and runs the effects the reducer asked for.
 */
import { type RefObject, useCallback, useRef, useState } from "react";
import { type Context, type Effect, type Event, initialState, type UiState } from "./state.ts";
import { reduce } from "./reduce.ts";

export type Dispatch = (event: Event) => void;

export function useUiState(
  context: RefObject<Context>,
  run: RefObject<(effect: Effect) => void>,
  initial: UiState = initialState,
): [UiState, Dispatch, RefObject<UiState>] {
  const ref = useRef(initial);
  const [state, setState] = useState(initial);
  const dispatch = useCallback((event: Event) => {
    const [next, effects] = reduce(ref.current, event, context.current);
    ref.current = next;
    setState(next);
    for (const effect of effects) run.current(effect);
  }, []);
  return [state, dispatch, ref];
}
