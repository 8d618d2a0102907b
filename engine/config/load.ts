/**
 * Reads `litejoin.yaml` into one typed, validated `Config`. Every problem is reported
 * at once, each as `file:line:col: path: message`; a YAML syntax error, after which the
 * rest cannot be read, is the one line of its first problem.
 */
import { type Document, isNode, type Node } from "yaml";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { Context, invalid, type Problem } from "../schema/schema.ts";
import { closest } from "../schema/suggest.ts";
import { ConfigError } from "../schema/config_error.ts";
import { engineFiles } from "../schema/engine_files.ts";
import { parseConfigYaml, readConfigText } from "./read.ts";
import { configSpec, type ParsedConfig } from "./spec.ts";
import { type Analysis, analyzeSql, SqlProblem } from "../joins/analyze.ts";
import { analyzeDelta, type DeltaAnalysis } from "../joins/delta_plan.ts";
import { sourceKinds } from "../sources/registry.ts";
import { checkWindows, type WindowSql } from "../windows/check.ts";
import { type TierPaths, tierPaths } from "../tiers/spec.ts";

export interface Config extends ParsedConfig {
  /** The config file as given. */
  file: string;
  /** Every topic: those declared under `topics` and those sources write. */
  topicNames: string[];
  /** What SQLite says about each join's SQL, by join name. */
  joinSql: Map<string, Analysis>;
  /** Whether each join can be evaluated by deltas, and how (see `delta_plan.ts`). */
  joinDelta: Map<string, DeltaAnalysis>;
  /** What SQLite says about each window's SQL, and the topic that opens its windows. */
  windowSql: Map<string, WindowSql>;
  /** The warm and cache directories of `tiering`, absolute. */
  tierPaths: TierPaths;
}

export { ConfigError };

export async function loadConfig(
  file: string,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): Promise<Config> {
  const text = await readConfigText(file);
  return parseConfig(text, file, env);
}

export function parseConfig(
  text: string,
  file: string,
  env: (name: string) => string | undefined = () => undefined,
): Config {
  const { doc, at } = parseConfigYaml(text, file);
  const ctx = new Context(env);
  const parsed = configSpec.parse(doc.contents as Node | null, { ctx, path: "", offset: 0 });
  const format = (problems: Problem[]) =>
    problems
      .sort((a, b) => a.offset - b.offset)
      .map((p) => `${at(p.offset)}: ${p.path ? `${p.path}: ` : ""}${p.message}`);
  if (parsed === invalid || ctx.problems.length) throw new ConfigError(format(ctx.problems));

  const config = crossCheck(parsed, file, doc, ctx);
  if (ctx.problems.length) throw new ConfigError(format(ctx.problems));
  return config;
}

/** Checks that span fields: references between sections, uniqueness, and the SQL itself. */
function crossCheck(parsed: ParsedConfig, file: string, doc: Document, ctx: Context): Config {
  const report = (path: (string | number)[], message: string) => {
    const node = doc.getIn(path, true);
    const offset = isNode(node) ? node.range?.[0] ?? 0 : 0;
    ctx.problems.push({ offset, path: formatPath(path), message });
  };

  for (const section of ["sources", "joins", "sinks", "topics"] as const) {
    const seen = new Set<string>();
    parsed[section].forEach((item, i) => {
      if (seen.has(item.name)) {
        report([section, i, "name"], `${item.name} is already used by another item of ${section}`);
      }
      seen.add(item.name);
    });
  }

  const topics = new Set(parsed.topics.map((t) => t.name));
  for (const source of parsed.sources) {
    const kind = sourceKinds[source.type];
    topics.add(kind.topic(source as never));
  }
  const topicNames = [...topics].sort();

  const paths = new Map<string, string>();
  parsed.sources.forEach((source, i) => {
    if (source.type !== "http") return;
    const owner = paths.get(source.path);
    if (owner) report(["sources", i, "path"], `${source.path} is already served by ${owner}`);
    paths.set(source.path, `source ${source.name}`);
  });

  // SSE sinks serve <path> and <path>/snapshot on the same listener.
  for (const reserved of ["/healthz", "/readyz", "/metrics"]) paths.set(reserved, "the engine");
  parsed.sinks.forEach((sink, i) => {
    if (sink.type !== "sse") return;
    for (const path of [sink.path, `${sink.path}/snapshot`]) {
      const owner = paths.get(path);
      if (owner) report(["sinks", i, "path"], `${path} is already served by ${owner}`);
      paths.set(path, `sink ${sink.name}`);
    }
  });
  parsed.http.static.forEach((files, i) => {
    const dir = resolvePath({ file }, files.dir);
    let isDir = false;
    try {
      isDir = Deno.statSync(dir).isDirectory;
    } catch { /* reported below */ }
    if (!isDir) report(["http", "static", i, "dir"], `${dir} is not a directory`);
  });

  const sinkNames = parsed.sinks.map((s) => s.name);
  const feeders = new Map<string, string[]>();
  const joinSql = new Map<string, Analysis>();
  const joinDelta = new Map<string, DeltaAnalysis>();
  parsed.joins.forEach((join, i) => {
    join.sinks.forEach((sink, j) => {
      if (!sinkNames.includes(sink)) {
        const guess = closest(sink, sinkNames);
        report(
          ["joins", i, "sinks", j],
          `no sink named ${sink}${
            guess ? ` (did you mean ${guess}?)` : ` (sinks: ${sinkNames.join(", ") || "none"})`
          }`,
        );
      }
      feeders.set(sink, [...(feeders.get(sink) ?? []), join.name]);
    });
    try {
      const analysis = analyzeSql(join.sql, topicNames);
      if (analysis.topics.length === 0) {
        report(["joins", i, "sql"], `reads no topic (topics: ${topicNames.join(", ") || "none"})`);
      }
      if (analysis.parameters.length) {
        report(
          ["joins", i, "sql"],
          `has parameters (${
            analysis.parameters.map((p) => ":" + p).join(", ")
          }), which joins do not bind`,
        );
      }
      if (join.on_eviction === "keep" && join.mode === "full") {
        report(
          ["joins", i, "on_eviction"],
          "on_eviction: keep needs delta evaluation (a full evaluation cannot tell an evicted " +
            "row from a deleted one); remove on_eviction: keep or mode: full",
        );
      }
      if (!analysis.columns.includes(join.key)) {
        report(
          ["joins", i, "key"],
          `${join.key} is not a result column (columns: ${analysis.columns.join(", ")})`,
        );
      }
      joinSql.set(join.name, analysis);
      if (analysis.topics.length && join.mode !== "full") {
        const delta = analyzeDelta(join.sql, topicNames, join.key);
        joinDelta.set(join.name, delta);
        if (join.on_eviction === "keep" && !delta.exact && join.mode !== "delta") {
          report(
            ["joins", i, "on_eviction"],
            `on_eviction: keep needs delta evaluation, and this join runs in full mode ` +
              `(${delta.reason}); remove on_eviction: keep`,
          );
        }
        if (join.mode === "delta" && !delta.exact) {
          report(
            ["joins", i, "mode"],
            `delta evaluation is not exact for this query: ${delta.reason}; ` +
              "use mode: auto (falls back to full) or mode: full",
          );
        }
      }
    } catch (error) {
      if (!(error instanceof SqlProblem)) throw error;
      report(["joins", i, "sql"], error.message);
    }
  });

  const windowSql = checkWindows(parsed, topicNames, feeders, report);

  parsed.sinks.forEach((sink, i) => {
    const fed = feeders.get(sink.name) ?? [];
    if (sink.type === "sqlite" && sink.table && fed.length > 1) {
      report(
        ["sinks", i, "table"],
        `one table cannot hold the results of ${
          fed.join(" and ")
        }; leave table unset to get a table per result set`,
      );
    }
  });

  if (parsed.dlq.backoff.max < parsed.dlq.backoff.initial) {
    const set = doc.hasIn(["dlq", "backoff", "max"]) ? "max" : "initial";
    report(
      ["dlq", "backoff", set],
      "dlq.backoff.max is shorter than dlq.backoff.initial; raise max or lower initial",
    );
  }

  if (parsed.replication.enabled && !parsed.replication.replica_url) {
    report(
      ["replication"],
      "replica_url is required when replication is enabled (e.g. s3://bucket/litejoin)",
    );
  }

  const base = dirname(resolve(file));
  const files = engineFiles(file, parsed.engine);
  return {
    ...parsed,
    engine: { ...parsed.engine, ...files },
    file,
    topicNames,
    joinSql,
    joinDelta,
    windowSql,
    tierPaths: tierPaths(parsed.tiering, base, files.data_dir),
  };
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i ? `.${p}` : p).join("");
}

/** A path from the config, relative to the config file's directory unless absolute. */
export function resolvePath(config: Pick<Config, "file">, path: string): string {
  return isAbsolute(path) ? path : join(dirname(resolve(config.file)), path);
}
