/**
 * The layers of DESIGN.md ("Layers") as data: `tools/check_layers.ts` reads the import
 * graph and names every import that breaks one of these rules. Paths are relative to the
 * repository; a path ending in `/` is a folder, anything else one file.
 */
export const rules = {
  /**
   * From the bottom up. A file may import its own layer and those below it, never one
   * above. Every file of `engine/`, `cli/` and `tui/` must be placed in one layer.
   */
  layers: [
    {
      name: "base",
      paths: [
        "engine/types.ts",
        "engine/log.ts",
        "engine/metrics.ts",
        "engine/schema/", // the schema language: field types, durations, sizes, suggestions
        "engine/hash.ts",
        "engine/bytes.ts",
        "engine/timers.ts",
        "engine/fake_clock.ts",
        "engine/paths.ts",
        "engine/backoff.ts",
        "engine/crash_point.ts",
        "engine/progress.ts",
        "engine/version.ts",
      ],
    },
    { name: "store", paths: ["engine/store/"] },
    {
      name: "components",
      paths: [
        "engine/sources/",
        "engine/joins/",
        "engine/windows/",
        "engine/sinks/",
        "engine/dlq/",
        "engine/tiers/",
        "engine/replication/",
        "engine/http/",
        "engine/kafka/",
      ],
    },
    {
      name: "config", // the assembled spec and loader, and what reads the whole config offline
      paths: ["engine/config/", "engine/indexes.ts", "engine/dlq_offline.ts"],
    },
    // The control methods see the running engine only as an `EngineView`
    // (control/engine_view.ts), so they sit below engine.ts, which opens the socket.
    { name: "control", paths: ["engine/control/"] },
    {
      name: "engine", // engine.ts assembles the running engine, the control socket included
      paths: [
        "engine/engine.ts",
        "engine/assemble.ts",
        "engine/observe.ts",
        "engine/readiness.ts",
        "engine/startup.ts",
        "engine/sse_carry.ts", // tells SSE sinks which joins and windows feed them
      ],
    },
    { name: "faces", paths: ["engine/mod.ts", "engine/client.ts"] },
    { name: "commands", paths: ["cli/", "tui/"] }, // tui/ beside cli/; cli/tui.ts starts it
  ],

  /**
   * The folders of the component layer are one level but do not import each other: each
   * is given its own config section and the few collaborators it uses. These edges are
   * the exceptions, each a real collaboration.
   */
  components: {
    layer: "components",
    allowed: [
      { from: "sources", to: "http", why: "HTTP sources register routes on the listener" },
      { from: "sinks", to: "http", why: "the SSE sink serves on the listener" },
      { from: "sources", to: "kafka", why: "the Kafka source uses the shared client" },
      { from: "sinks", to: "kafka", why: "the Kafka sink uses the shared client" },
      { from: "sources", to: "dlq", why: "a source sends records it cannot store to the DLQ" },
      { from: "dlq", to: "sinks", why: "the DLQ wraps a sink through the Sink interface" },
      { from: "windows", to: "joins", why: "windows share the join's SQL analysis and tokens" },
    ],
  },

  /** Who may see which part of the engine: everything else of `engine/` is internal to it. */
  faces: [
    {
      from: "cli/",
      scope: "engine/",
      to: ["engine/mod.ts", "engine/client.ts"],
      why: "cli/ sees the engine only through engine/mod.ts or engine/client.ts",
    },
    {
      from: "cli/",
      scope: "tui/",
      to: ["tui/run.tsx"],
      why: "cli/ starts the console through tui/run.tsx and shares nothing else with tui/",
    },
    {
      from: "tui/",
      scope: "engine/",
      to: ["engine/client.ts"],
      why: "the console sees only the control client and protocol types (engine/client.ts)",
    },
  ],

  /**
   * Modules the console process must not load: not from the console's code (`from`), by
   * any import that loads a module (static, `import()` or a worker; `import type` loads
   * nothing), and not as the `entries` start, by their static imports: `litejoin tui` and
   * `status` run as cli/main.ts, which loads each command's module with import() only
   * when that command runs.
   */
  light: {
    from: "tui/",
    entries: ["cli/main.ts", "cli/tui.ts", "cli/status.ts"],
    forbidden: ["node:sqlite", "@duckdb/", "@aws-sdk/", "kafkajs"],
  },

  /** A file whose name starts with `_` is private to its folder. */
  privatePrefix: "_",

  /**
   * Tests and tools may use engine internals (`_` files, any layer); nothing else may
   * import them. `_test.ts` files beside the code are tests too.
   */
  tests: ["tests/", "bench/", "tools/"],
  testSuffixes: ["_test.ts", "_test.tsx"],

  /** The folders whose files are read. */
  roots: ["engine/", "cli/", "tui/", "tests/", "bench/", "tools/"],
};

export type Rules = typeof rules;
