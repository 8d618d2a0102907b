/** A page of a query result: the rows from `top`, the columns from `left` that fit. */
import type { SqlResult } from "../engine/client.ts";
import { cell } from "../engine/client.ts";
import { type Column, Table } from "./table.tsx";

export interface ResultTableProps {
  result: SqlResult;
  top: number;
  left: number;
  width: number;
  height: number;
}

const MAX_COLUMN = 40;

/** The columns from `left` that fit in `width`, sized to the page's content. */
export function resultColumns(
  result: SqlResult,
  page: unknown[][],
  left: number,
  width: number,
): { columns: Column[]; indexes: number[] } {
  const columns: Column[] = [];
  const indexes: number[] = [];
  let used = 1; // the selection marker
  for (let i = left; i < result.columns.length; i++) {
    const numeric = page.length > 0 &&
      page.every((row) => typeof row[i] === "number" || row[i] === null);
    const content = Math.max(
      result.columns[i].length,
      ...page.map((row) => cell(row[i]).length),
    );
    let w = Math.max(3, Math.min(MAX_COLUMN, content));
    const gap = columns.length ? 1 : 0;
    if (used + gap + w > width) {
      if (columns.length) break;
      w = Math.max(3, width - used);
    }
    columns.push({ title: result.columns[i], width: w, align: numeric ? "right" : "left" });
    indexes.push(i);
    used += gap + w;
  }
  return { columns, indexes };
}

export function ResultTable({ result, top, left, width, height }: ResultTableProps) {
  const page = result.rows.slice(top, top + Math.max(0, height - 1));
  const { columns, indexes } = resultColumns(result, page, left, width);
  const rows = page.map((row) =>
    indexes.map((i) => (row[i] === null ? { text: "NULL", dim: true } : cell(row[i])))
  );
  return (
    <Table
      columns={columns}
      rows={rows}
      height={Math.min(height, rows.length + 1)}
      empty="no rows"
    />
  );
}
