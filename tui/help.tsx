/** `?`: every key, by view. Any key closes it. */
import { Box, Text } from "ink";
import { fit } from "../engine/client.ts";

const HELP: [string, string][] = [
  ["Everywhere", ""],
  ["1 2 3 4, Tab", "Dashboard, SQL, Tail, DLQ (Shift+Tab goes back)"],
  ["/", "filter the table (Enter applies; Esc cancels, then clears)"],
  ["?", "this help"],
  ["q, Ctrl+C", "quit (in SQL, Ctrl+C first cancels a running query)"],
  ["SQL", ""],
  ["Enter", "new line; runs the query once it ends with ;"],
  ["Ctrl+E", "run the query as it is"],
  ["↑ ↓", "earlier and later queries"],
  ["PgUp PgDn Home End", "scroll the result rows"],
  ["← →", "scroll the result columns"],
  ["Esc", "clear the prompt, or go back when it is empty"],
  ["Tail", ""],
  ["↑ ↓, Enter", "choose a topic; in a topic, show a message in full"],
  ["p", "pause and resume the refresh"],
  ["Esc", "back to the topics"],
  ["DLQ", ""],
  ["r / R", "replay the entry / all waiting entries of its sink (asks y/N)"],
  ["x / X", "purge the entry / all dead entries of its sink (asks y/N)"],
  ["s", "show all, retrying, dead or delivered entries"],
  ["Enter", "show an entry in full"],
];

export function Help({ width, height }: { width: number; height: number }) {
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      {HELP.slice(0, height).map(([keys, what], i) =>
        what
          ? (
            <Text key={i} wrap="truncate">
              {"  "}
              <Text bold>{fit(keys, 18)}</Text>
              {" " + fit(what, Math.max(1, width - 21))}
            </Text>
          )
          : <Text key={i} bold color="cyan">{keys}</Text>
      )}
    </Box>
  );
}
