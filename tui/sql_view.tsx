/** The SQL prompt: the query being typed, the last result or error, and the result table. */
import { Box, Text } from "ink";
import type { SqlResult } from "../engine/client.ts";
import { fit, grouped, millis } from "../engine/client.ts";
import { resultColumns, ResultTable } from "./result_table.tsx";

export interface SqlViewProps {
  draft: string;
  running: boolean;
  runningSql: string;
  result: SqlResult | null;
  error: string;
  top: number;
  left: number;
  width: number;
  height: number;
}

/** Most lines of the prompt shown at once (the end of a longer query). */
const EDITOR_LINES = 6;
/** Most lines an error takes. */
const ERROR_LINES = 3;

/** Cuts `text` into lines of at most `width` columns. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    for (let i = 0; i < Math.max(1, paragraph.length); i += width) {
      lines.push(paragraph.slice(i, i + width));
    }
  }
  return lines;
}

/** How the view's height is shared: prompt, status, and the rows of the result table. */
export function sqlLayout(draft: string, error: string, width: number, height: number) {
  const editorLines = Math.min(EDITOR_LINES, draft.split("\n").length);
  const statusLines = error ? Math.min(ERROR_LINES, wrap(`error: ${error}`, width).length) : 1;
  const tableRows = Math.max(1, height - editorLines - statusLines - 2);
  return { editorLines, statusLines, tableRows };
}

export function SqlView(props: SqlViewProps) {
  const { draft, running, runningSql, result, error, top, left, width, height } = props;
  const { tableRows } = sqlLayout(draft, error, width, height);
  const lines = draft.split("\n");
  const hidden = lines.length > EDITOR_LINES ? lines.length - (EDITOR_LINES - 1) : 0;
  const shown = lines.slice(hidden);
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      {hidden > 0 && <Text dimColor>{`     … ${hidden} more line(s) above`}</Text>}
      {shown.map((line, i) => {
        const first = hidden + i === 0;
        const last = i === shown.length - 1;
        return (
          <Text key={i} wrap="truncate">
            <Text color="cyan" bold>{first ? "sql> " : " ..> "}</Text>
            {fit(line + (last ? "█" : ""), Math.max(1, width - 5))}
          </Text>
        );
      })}
      <Status
        running={running}
        runningSql={runningSql}
        result={result}
        error={error}
        top={top}
        left={left}
        width={width}
        tableRows={tableRows}
      />
      <Box height={1} />
      {result && (
        <ResultTable result={result} top={top} left={left} width={width} height={tableRows + 1} />
      )}
      {!result && !error && !running && (
        <Text dimColor>
          {fit(
            "Read-only SQL over the topics, e.g. SELECT key, payload FROM orders LIMIT 10;",
            width,
          )}
        </Text>
      )}
    </Box>
  );
}

function Status(
  props:
    & Pick<SqlViewProps, "running" | "runningSql" | "result" | "error" | "top" | "left" | "width">
    & {
      tableRows: number;
    },
) {
  const { running, runningSql, result, error, top, left, width, tableRows } = props;
  if (running) {
    return (
      <Text color="yellow" wrap="truncate">
        {fit(`running… (Ctrl+C cancels)  ${runningSql.replace(/\s+/g, " ")}`, width)}
      </Text>
    );
  }
  if (error) {
    return (
      <>
        {wrap(`error: ${error}`, width).slice(0, ERROR_LINES).map((line, i) => (
          <Text key={i} color="red">{line}</Text>
        ))}
      </>
    );
  }
  if (!result) return <Box height={1} />;
  const n = result.rows.length;
  const page = result.rows.slice(top, top + tableRows);
  const { indexes } = resultColumns(result, page, left, width);
  const parts = [
    `${grouped(n)} row${n === 1 ? "" : "s"}${
      result.truncated ? ` (cut at ${grouped(n)}: more exist)` : ""
    }`,
    millis(result.ms),
    n > tableRows ? `rows ${top + 1}-${Math.min(n, top + tableRows)}` : "",
    indexes.length < result.columns.length
      ? `columns ${left + 1}-${left + indexes.length} of ${result.columns.length} (←→)`
      : "",
  ].filter(Boolean);
  return <Text color="green" wrap="truncate">{fit(parts.join(" · "), width)}</Text>;
}
