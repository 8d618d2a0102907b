/**
 * The console's one container: it owns the engine link and the UI state, turns keys into
 * reducer events and effects into requests, and hands plain props to the views.
 */
import { Box, useApp, useInput } from "ink";
import { useEffect, useMemo, useRef } from "react";
import type { DlqEntry, SqlResult, TailResult } from "../engine/client.ts";
import type { Link } from "./link.ts";
import { useLink } from "./use_link.ts";
import { useUiState } from "./use_ui_state.ts";
import { useInterval } from "./use_interval.ts";
import {
  type Context,
  type Effect,
  filterOf,
  type UiState,
  visibleEntries,
  visibleMessages,
  visibleTopics,
} from "./state.ts";
import { Header } from "./header.tsx";
import { Footer } from "./footer.tsx";
import { Dashboard } from "./dashboard.tsx";
import { sqlLayout, SqlView } from "./sql_view.tsx";
import { TailView } from "./tail_view.tsx";
import { DlqView } from "./dlq_view.tsx";
import { Help } from "./help.tsx";

export interface ConsoleProps {
  link: Link;
  width: number;
  height: number;
  /** Called once the user quits (before Ink exits). */
  onQuit?: () => void;
  /** Rows a query asks for; the engine may cap it lower. */
  sqlRows?: number;
  tailRows?: number;
  /** Refresh periods of the tail and DLQ views. */
  tailEveryMs?: number;
  dlqEveryMs?: number;
}

/** Rows of the table in the current view, for paging keys. */
function tableRows(s: UiState, width: number, body: number): number {
  if (s.view === "sql") return sqlLayout(s.sql.editor.draft, s.sql.error, width, body).tableRows;
  return Math.max(1, body - 3);
}

export function Console(props: ConsoleProps) {
  const { link, width, height, onQuit } = props;
  const { exit } = useApp();
  // Set from the UI state below; a ref, because the hook runs before the state is read.
  const tailing = useRef(false);
  const engine = useLink(link, !tailing.current);
  // The DLQ may serve its methods while disabled; its stats are null then.
  const dlqEnabled = engine.methods.includes("dlq.stats") && link.state().stats?.dlq != null;
  const topics = engine.info?.topics ?? engine.stats?.topics.map((t) => t.topic) ?? [];
  const body = Math.max(1, height - 3);

  const context = useRef<Context>({ topics, dlqEnabled, tableRows: 1 });
  const run = useRef<(effect: Effect) => void>(() => {});
  const [ui, dispatch, current] = useUiState(context, run);
  tailing.current = ui.view === "tail" && ui.tail.topic !== null && !ui.tail.paused &&
    engine.connection === "connected";
  context.current = { topics, dlqEnabled, tableRows: tableRows(ui, width, body) };

  const fetchTail = () => {
    const topic = current.current.tail.topic;
    if (!topic || current.current.tail.paused) return;
    link.request<TailResult>("tail", { topic, limit: props.tailRows ?? 100 }).then(
      (data) => dispatch({ type: "tail.data", data }),
      (error) => dispatch({ type: "tail.error", topic, message: (error as Error).message }),
    );
  };
  const fetchDlq = () => {
    if (!dlqEnabled) return;
    const status = current.current.dlq.status || undefined;
    link.request<{ entries: DlqEntry[] }>("dlq.list", { status, limit: 500 }).then(
      (r) => dispatch({ type: "dlq.entries", entries: r.entries }),
      (error) => dispatch({ type: "dlq.error", message: (error as Error).message }),
    );
  };
  run.current = (effect: Effect) => {
    switch (effect.type) {
      case "quit":
        return;
      case "sql.run":
        link.request<SqlResult>("sql", {
          sql: effect.sql,
          max_rows: props.sqlRows ?? 1000,
          query_id: effect.id,
        }).then(
          (result) => dispatch({ type: "sql.result", id: effect.id, result }),
          (error) =>
            dispatch({ type: "sql.error", id: effect.id, message: (error as Error).message }),
        );
        return;
      case "sql.cancel":
        link.request("sql.cancel", { query_id: effect.id }).catch(() => {});
        return;
      case "tail.fetch":
        return fetchTail();
      case "dlq.fetch":
        return fetchDlq();
      case "dlq.replay":
        link.request<{ replayed: number; delivered: number; failed: number; skipped?: number }>(
          "dlq.replay",
          effect.params,
        ).then(
          (r) =>
            dispatch({
              type: "message",
              text: `replayed ${r.replayed}: ${r.delivered} delivered, ${r.failed} failed again` +
                (r.skipped ? `, ${r.skipped} skipped (in flight, superseded or no such sink)` : ""),
            }),
          (error) =>
            dispatch({ type: "message", text: `replay failed: ${(error as Error).message}` }),
        ).finally(fetchDlq);
        return;
      case "dlq.purge":
        link.request<{ purged: number }>("dlq.purge", effect.params).then(
          (r) =>
            dispatch({
              type: "message",
              text: `purged ${r.purged} entr${r.purged === 1 ? "y" : "ies"}`,
            }),
          (error) =>
            dispatch({ type: "message", text: `purge failed: ${(error as Error).message}` }),
        ).finally(fetchDlq);
        return;
    }
  };

  useInput((input, key) => dispatch({ type: "key", key: { ...key, input } }));

  useEffect(() => {
    if (!ui.quit) return;
    onQuit?.();
    exit();
  }, [ui.quit]);

  const connected = engine.connection === "connected";
  useInterval(
    fetchTail,
    props.tailEveryMs ?? 1000,
    connected && ui.view === "tail" && ui.tail.topic !== null && !ui.tail.paused,
    ui.tail.topic,
  );
  useInterval(
    fetchDlq,
    props.dlqEveryMs ?? 2000,
    connected && ui.view === "dlq" && dlqEnabled,
    ui.dlq.status,
  );

  const stats = link.state().stats;
  const filter = filterOf(ui, ui.view);
  const messages = useMemo(() => visibleMessages(ui), [ui.tail.data, filter]);
  const entries = useMemo(() => visibleEntries(ui), [ui.dlq.entries, filter]);
  let view;
  if (ui.help) view = <Help width={width} height={body} />;
  else if (ui.view === "dashboard") {
    view = (
      <Dashboard
        stats={stats}
        dlqEnabled={dlqEnabled}
        filter={filter}
        width={width}
        height={body}
      />
    );
  } else if (ui.view === "sql") {
    view = (
      <SqlView
        draft={ui.sql.editor.draft}
        running={ui.sql.running !== null}
        runningSql={ui.sql.runningSql}
        result={ui.sql.result}
        error={ui.sql.error}
        top={ui.sql.top}
        left={ui.sql.left}
        width={width}
        height={body}
      />
    );
  } else if (ui.view === "tail") {
    const shown = visibleTopics(ui, topics);
    view = (
      <TailView
        topics={shown}
        topicStats={stats?.topics ?? []}
        topic={ui.tail.topic}
        data={ui.tail.data}
        messages={messages}
        error={ui.tail.error}
        selected={Math.min(
          ui.tail.selected,
          Math.max(0, (ui.tail.topic ? messages : shown).length - 1),
        )}
        paused={ui.tail.paused}
        detail={ui.tail.detail}
        filter={filter}
        width={width}
        height={body}
      />
    );
  } else {
    view = (
      <DlqView
        enabled={dlqEnabled}
        summary={stats?.dlq ?? null}
        entries={entries}
        loaded={ui.dlq.loaded}
        status={ui.dlq.status}
        selected={Math.min(ui.dlq.selected, Math.max(0, entries.length - 1))}
        detail={ui.dlq.detail}
        error={ui.dlq.error}
        filter={filter}
        now={stats?.at ?? Date.now()}
        width={width}
        height={body}
      />
    );
  }

  return (
    <Box flexDirection="column" width={width} height={height}>
      <Header
        info={engine.info}
        connection={engine.connection}
        reason={engine.reason}
        uptimeSeconds={stats?.uptime_seconds ?? engine.info?.uptime_seconds ?? 0}
        view={ui.view}
        status={stats?.status ?? null}
        filter={ui.filterDraft === null ? ui.filters[ui.view] : ""}
        width={width}
      />
      <Box height={body} flexDirection="column" overflow="hidden">{view}</Box>
      <Footer
        view={ui.view}
        confirm={ui.confirm?.prompt ?? null}
        filterDraft={ui.filterDraft}
        message={ui.help ? "press any key to close the help" : ui.message}
        hints=""
        width={width}
      />
    </Box>
  );
}
