/** One line: what waits in the dead-letter queue, per sink, or that there is none. */
import { Text } from "ink";
import type { DlqSummary } from "../engine/client.ts";
import { fit } from "../engine/client.ts";
import { dlqSummaryText } from "../engine/client.ts";

export interface DlqLineProps {
  dlq: DlqSummary | null;
  enabled: boolean;
  now: number;
  width: number;
}

const LABEL = "DLQ  ";

export function DlqLine({ dlq, enabled, now, width }: DlqLineProps) {
  const waiting = dlq ? Object.values(dlq.by_sink).some((s) => s.dead > 0) : false;
  return (
    <Text wrap="truncate">
      <Text bold>{LABEL}</Text>
      <Text color={waiting ? "red" : undefined} dimColor={!enabled}>
        {fit(dlqSummaryText(dlq, enabled, now), Math.max(1, width - 5))}
      </Text>
    </Text>
  );
}
