/** A table fitted to a width and a height: a header, rows, a selection, and "… N more". */
import { Text } from "ink";
import { fit } from "../engine/client.ts";

export interface Column {
  title: string;
  width: number;
  align?: "left" | "right";
}

/** A cell: text, or text with a colour. */
export type Cell = string | { text: string; color?: string; dim?: boolean };

export interface TableProps {
  columns: Column[];
  rows: Cell[][];
  /** Lines available, the header included. */
  height: number;
  /** The selected row, kept in view; none when undefined. */
  selected?: number;
  /** The first row shown when nothing is selected. */
  top?: number;
  /** Shown in place of rows when there are none. */
  empty?: string;
}

/** The widths of `columns` with the flexible one (width 0) given what is left of `total`. */
export function layout(columns: Column[], total: number): Column[] {
  const fixed = columns.reduce((n, c) => n + c.width, 0) + columns.length; // one space before each
  const rest = Math.max(4, total - fixed);
  return columns.map((c) => (c.width === 0 ? { ...c, width: rest } : c));
}

/** The first row to show so that `selected` is on screen. */
export function windowStart(count: number, shown: number, selected?: number, top = 0): number {
  if (selected === undefined) return Math.max(0, Math.min(top, count - shown));
  return Math.max(
    0,
    Math.min(selected - shown + 1 + Math.floor(shown / 2), count - shown, selected),
  );
}

interface Segment {
  text: string;
  color?: string;
  dim?: boolean;
}

/**
 * A row as runs of equally styled text: plain cells join into one string, so a row
 * costs Ink one or a few text nodes rather than one per cell.
 */
function segments(marker: string, row: Cell[], columns: Column[]): Segment[] {
  const out: Segment[] = [{ text: marker }];
  row.forEach((cell, j) => {
    const c = typeof cell === "string" ? { text: cell } : cell;
    const text = (j === 0 ? "" : " ") + fit(c.text, columns[j].width, columns[j].align);
    const last = out[out.length - 1];
    if (last.color === c.color && last.dim === c.dim) last.text += text;
    else out.push({ text, color: c.color, dim: c.dim });
  });
  return out;
}

export function Table({ columns, rows, height, selected, top, empty }: TableProps) {
  const room = Math.max(0, height - 1);
  const overflow = rows.length > room;
  const shown = overflow ? Math.max(0, room - 1) : room;
  const start = windowStart(rows.length, shown, selected, top);
  const visible = rows.slice(start, start + shown);
  const before = start;
  const after = rows.length - start - visible.length;
  return (
    <>
      <Text bold wrap="truncate">
        {" " + columns.map((c) => fit(c.title, c.width, c.align)).join(" ")}
      </Text>
      {rows.length === 0 && room > 0 && <Text dimColor>{" " + (empty ?? "nothing to show")}</Text>}
      {visible.map((row, i) => {
        const isSelected = start + i === selected;
        return (
          <Text key={start + i} wrap="truncate" inverse={isSelected}>
            {segments(isSelected ? ">" : " ", row, columns).map((segment, j) =>
              segment.color || segment.dim
                ? (
                  <Text key={j} color={segment.color} dimColor={segment.dim}>
                    {segment.text}
                  </Text>
                )
                : segment.text
            )}
          </Text>
        );
      })}
      {overflow && room > 0 && (
        <Text dimColor>
          {` … ${after ? `${after} more below` : ""}${after && before ? ", " : ""}${
            before ? `${before} above` : ""
          } (/ filters)`}
        </Text>
      )}
    </>
  );
}
