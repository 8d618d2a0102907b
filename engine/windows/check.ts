/**
 * Checks of the `windows:` section that span fields and sections: names, sinks, the
 * SQL (prepared by SQLite against the declared topics) and the parameters it binds.
 */
import { closest } from "../schema/suggest.ts";
import type { WindowConfig } from "./config.ts";
import { type Analysis, analyzeSql, SqlProblem } from "../joins/analyze.ts";

/** What SQLite says about a window's SQL, and the topic whose messages open its windows. */
export interface WindowSql extends Analysis {
  topic: string;
}

type Report = (path: (string | number)[], message: string) => void;

const WINDOW_PARAMETERS = ["window_start", "window_end"];

/**
 * Reports every problem of `parsed.windows` through `report`, and records which window
 * feeds which sink in `feeders` (for the sinks' own checks). Returns the analysis of
 * each window whose SQL prepared.
 */
export function checkWindows(
  parsed: {
    windows: readonly WindowConfig[];
    sinks: readonly { name: string }[];
    joins: readonly { name: string }[];
  },
  topicNames: readonly string[],
  feeders: Map<string, string[]>,
  report: Report,
): Map<string, WindowSql> {
  const out = new Map<string, WindowSql>();
  const sinkNames = parsed.sinks.map((s) => s.name);
  const joinNames = new Set(parsed.joins.map((j) => j.name));
  const seen = new Set<string>();
  const noSink = (name: string) => {
    const guess = closest(name, sinkNames);
    return `no sink named ${name}${
      guess ? ` (did you mean ${guess}?)` : ` (sinks: ${sinkNames.join(", ") || "none"})`
    }`;
  };
  const feed = (sink: string, producer: string) =>
    feeders.set(sink, [...(feeders.get(sink) ?? []), producer]);

  parsed.windows.forEach((window, i) => {
    const at = (...path: (string | number)[]) => ["windows", i, ...path];
    if (seen.has(window.name)) {
      report(at("name"), `${window.name} is already used by another item of windows`);
    } else if (joinNames.has(window.name)) {
      report(
        at("name"),
        `${window.name} is already the name of a join; results are told apart by name`,
      );
    }
    seen.add(window.name);

    window.sinks.forEach((sink, j) => {
      if (!sinkNames.includes(sink)) report(at("sinks", j), noSink(sink));
      feed(sink, window.name);
    });
    if (window.late.sink !== undefined) {
      if (!sinkNames.includes(window.late.sink)) report(at("late"), noSink(window.late.sink));
      feed(window.late.sink, `${window.name}_late`);
    }
    if (window.type === "sliding" && window.slide > window.size) {
      report(at("slide"), `must be at most size (${window.size} ms), found ${window.slide} ms`);
    }
    if (window.topic !== undefined && !topicNames.includes(window.topic)) {
      const guess = closest(window.topic, topicNames);
      report(
        at("topic"),
        `no topic named ${window.topic}${
          guess ? ` (did you mean ${guess}?)` : ` (topics: ${topicNames.join(", ") || "none"})`
        }`,
      );
    }

    let analysis: Analysis;
    try {
      analysis = analyzeSql(window.sql, topicNames);
    } catch (error) {
      if (!(error instanceof SqlProblem)) throw error;
      report(at("sql"), error.message);
      return;
    }
    const allowed = window.type === "session"
      ? [...WINDOW_PARAMETERS, "session_key"]
      : WINDOW_PARAMETERS;
    const unknown = analysis.parameters.filter((p) => !allowed.includes(p));
    if (unknown.length) {
      report(
        at("sql"),
        `has parameters ${unknown.map((p) => ":" + p).join(", ")}, which windows do not bind ` +
          `(${window.type} windows bind ${allowed.map((p) => ":" + p).join(", ")})`,
      );
    }
    if (!WINDOW_PARAMETERS.some((p) => analysis.parameters.includes(p))) {
      report(
        at("sql"),
        "uses neither :window_start nor :window_end, so every window would get the same result; " +
          "filter with e.g. WHERE timestamp >= :window_start AND timestamp < :window_end",
      );
    }
    if (window.type === "session" && !analysis.parameters.includes("session_key")) {
      report(
        at("sql"),
        `does not use :session_key, so a session would count other keys' events; add e.g. ` +
          `AND json_extract(payload, '$.${window.key}') = :session_key`,
      );
    }
    if (window.row_key !== undefined && !analysis.columns.includes(window.row_key)) {
      report(
        at("row_key"),
        `${window.row_key} is not a result column (columns: ${analysis.columns.join(", ")})`,
      );
    }
    let topic = window.topic;
    if (topic === undefined) {
      if (analysis.topics.length === 1) topic = analysis.topics[0];
      else if (analysis.topics.length === 0) {
        report(at("sql"), `reads no topic (topics: ${topicNames.join(", ") || "none"})`);
      } else {
        report(
          at("sql"),
          `reads ${
            analysis.topics.join(" and ")
          }; set topic to the one whose messages open windows`,
        );
      }
    }
    if (topic !== undefined) out.set(window.name, { ...analysis, topic });
  });
  return out;
}
