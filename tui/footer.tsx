/** The last line: a question to confirm, the filter being typed, what just happened, or the keys. */
import { Text } from "ink";
import type { View } from "./state.ts";
import { fit } from "../engine/client.ts";

export interface FooterProps {
  view: View;
  confirm: string | null;
  filterDraft: string | null;
  message: string;
  /** Extra key hints of the view's current mode. */
  hints: string;
  width: number;
}

const KEYS: Record<View, string> = {
  dashboard: "1-4/Tab views  / filter  ? help  q quit",
  sql:
    "Enter runs a ;-ended query  Ctrl+E run  ↑↓ history  PgUp/PgDn rows  ←→ columns  Esc clear  Tab views",
  tail: "↑↓ select  Enter open  Esc back  p pause  / filter  ? help  q quit",
  dlq: "↑↓ select  r/R replay  x/X purge  s status  Enter details  / filter  ? help  q quit",
};

export function Footer({ view, confirm, filterDraft, message, hints, width }: FooterProps) {
  if (confirm) {
    return (
      <Text color="yellow" bold wrap="truncate">
        {fit(`${confirm} [y/N]`, width)}
      </Text>
    );
  }
  if (filterDraft !== null) {
    return (
      <Text color="yellow" wrap="truncate">
        {fit(`/${filterDraft}█  (Enter apply, Esc cancel)`, width)}
      </Text>
    );
  }
  if (message) return <Text wrap="truncate">{fit(message, width)}</Text>;
  return <Text dimColor wrap="truncate">{fit(hints || KEYS[view], width)}</Text>;
}
