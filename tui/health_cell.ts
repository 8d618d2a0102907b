/** A health status as a table cell: a symbol and a word, so it reads without colour too. */
import type { Health } from "../engine/client.ts";
import type { Cell } from "./table.tsx";

const LOOK: Record<Health, { text: string; color: string }> = {
  ok: { text: "● ok", color: "green" },
  warn: { text: "▲ warn", color: "yellow" },
  fail: { text: "✕ FAIL", color: "red" },
};

export function healthCell(status: Health): Cell {
  return LOOK[status];
}

export function healthColor(status: Health): string {
  return LOOK[status].color;
}
