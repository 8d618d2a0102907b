/**
 * The DLQ's control methods. Times are epoch milliseconds; an `Entry` is
 * `{id, sink, source, key, payload, error, attempts, first_failed_at, last_failed_at,
 * next_attempt_at, status, delivered_at, superseded}`.
 *
 * dlq.stats                          → {total, by_sink: {[sink]: {retrying, dead, delivered, oldest_failed_at}}, rejected: {[source]: n}}
 * dlq.list   {sink?, status?, source?, limit?, offset?, order?} → {entries: Entry[]}
 * dlq.show   {id}                    → Entry
 * dlq.replay {id? | sink? | all?, progress?} → {replayed, delivered, failed, skipped}
 *            with progress: true, pushes `dlq.replay.progress` {done, total, delivered, failed}
 *            to the calling connection as it goes
 * dlq.purge  {id?, sink?, status?, all?, dry_run?} → {purged}
 *
 * Errors carry code `bad_request`, `not_found` or `dlq_disabled`.
 */
import type { ControlServer } from "./server.ts";
import { ControlError } from "./server.ts";
import {
  type DlqApi,
  DlqRequestError,
  parseId,
  parseListQuery,
  parsePurgeSelection,
  parseReplaySelection,
} from "../dlq/api.ts";

export function serveDlq(control: ControlServer, api: DlqApi | undefined): void {
  const serve = (
    method: string,
    fn: (
      api: DlqApi,
      params: Record<string, unknown>,
      push: (event: string, data: unknown) => void,
    ) => Promise<unknown>,
  ) =>
    control.handle(method, async (params, connection) => {
      if (!api) {
        throw new ControlError(
          "the dead-letter queue is disabled (set dlq.enabled: true)",
          "dlq_disabled",
        );
      }
      try {
        return await fn(api, params, (event, data) => connection.push(event, data));
      } catch (error) {
        if (error instanceof DlqRequestError) throw new ControlError(error.message, error.code);
        throw error;
      }
    });
  serve("dlq.stats", (api) => api.stats());
  serve("dlq.list", (api, params) => api.list(parseListQuery(params)));
  serve("dlq.show", (api, params) => api.show(parseId(params)));
  serve(
    "dlq.replay",
    (api, params, push) =>
      api.replay(
        parseReplaySelection(params),
        params.progress === true ? (p) => push("dlq.replay.progress", p) : undefined,
      ),
  );
  serve("dlq.purge", (api, params) => api.purge(parsePurgeSelection(params)));
}
