import assert from "node:assert/strict";
import { cli, startEngine, waitFor } from "./_helpers.ts";
import { SseClient } from "./_sse.ts";

const PIPELINE = `
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: orders_in, type: http, path: /orders, topic: orders, key: id }
joins:
  - { name: copy, key: id, sql: "SELECT key AS id, json_extract(payload, '$.n') AS n FROM orders", sinks: [live, db] }
sinks:
  - { name: live, type: sse, path: /live }
  - { name: db, type: sqlite, path: ./results.db }
`;

interface Family {
  type: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** Parses the Prometheus text format strictly, failing on anything malformed. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const sample = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (-?[0-9.e+-]+|\\+Inf|NaN)$`);
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)",?/gy;
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  for (const line of text.trimEnd().split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) (.+)$/.exec(line);
    if (meta) {
      const family = families.get(meta[2]) ?? { type: "", help: "", samples: [] };
      if (meta[1] === "HELP") family.help = meta[3];
      else family.type = meta[3];
      families.set(meta[2], family);
      continue;
    }
    const match = sample.exec(line);
    assert.ok(match, `malformed sample line: ${line}`);
    const labels: Record<string, string> = {};
    label.lastIndex = 0;
    let m;
    while (match[2] && label.lastIndex < match[2].length && (m = label.exec(match[2]))) {
      labels[m[1]] = m[2];
    }
    assert.equal(label.lastIndex, match[2]?.length ?? 0, `malformed labels: ${line}`);
    const base = match[1].replace(/_(bucket|sum|count)$/, "");
    const family = families.get(match[1]) ?? families.get(base);
    assert.ok(family?.type, `${match[1]} has no # TYPE before it`);
    family.samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return families;
}

Deno.test("/metrics is valid Prometheus text, with conventional names and units, covering ingest, joins and sinks", async () => {
  const t = await startEngine(PIPELINE);
  const client = await SseClient.open(`${t.url}/live`);
  try {
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (await t.post("/orders", [{ id: `a${i}`, n: i }, { id: `b${i}`, n: i }])).status,
        202,
      );
    }
    assert.equal((await t.post("/orders", "{oops")).status, 400);
    await t.engine.joiner.drain();
    await waitFor("6 events", () => client.events.length === 6);
    const response = await fetch(`${t.url}/metrics`);
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const families = parseExposition(await response.text());

    for (const [name, family] of families) {
      assert.ok(family.help, `${name} has a HELP text`);
      assert.ok(["counter", "gauge", "histogram"].includes(family.type), `${name}: ${family.type}`);
      assert.equal(
        name.endsWith("_total"),
        family.type === "counter",
        `${name}: counters, and only counters, end in _total`,
      );
      assert.doesNotMatch(
        name,
        /_(ms|milliseconds|us|minutes|hours|kb|mb|kib|mib|percent)(_total)?$/,
        `${name} uses base units`,
      );
      if (family.type === "histogram") {
        assert.match(name, /_(seconds|bytes)$/, `${name}: a histogram names its unit`);
        for (const s of family.samples.filter((s) => s.labels.le === "+Inf")) {
          const { le: _, ...series } = s.labels;
          const count = family.samples.find((c) =>
            c.name === `${name}_count` && JSON.stringify(c.labels) === JSON.stringify(series)
          );
          assert.equal(s.value, count?.value, `${name}: the +Inf bucket equals the count`);
        }
      }
    }

    const value = (name: string, labels: Record<string, string> = {}) => {
      const family = families.get(name) ?? families.get(name.replace(/_(sum|count)$/, ""));
      assert.ok(family, `${name} is exported`);
      return family.samples
        .filter((s) =>
          s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
        )
        .reduce((sum, s) => sum + s.value, 0);
    };
    // Ingest
    assert.equal(value("litejoin_source_messages_total", { source: "orders_in" }), 6);
    assert.equal(
      value("litejoin_source_http_requests_total", { source: "orders_in", code: "202" }),
      3,
    );
    assert.equal(value("litejoin_source_http_requests_total", { code: "400" }), 1);
    assert.ok(value("litejoin_source_received_bytes_total", { source: "orders_in" }) > 90);
    assert.equal(value("litejoin_shard_messages_total"), 6);
    assert.ok(value("litejoin_shard_commit_seconds_count") >= 1);
    assert.equal(value("litejoin_writer_backlog_messages"), 0);
    // Joins
    assert.ok(value("litejoin_join_evaluations_total", { join: "copy" }) >= 1);
    assert.equal(value("litejoin_join_results_total", { join: "copy", change: "insert" }), 6);
    assert.ok(value("litejoin_join_evaluation_seconds_count", { join: "copy" }) >= 1);
    assert.equal(value("litejoin_join_pending_keys", { join: "copy" }), 0);
    assert.ok(value("litejoin_join_lag_seconds_count", { join: "copy" }) >= 1);
    assert.equal(value("litejoin_join_oldest_pending_seconds", { join: "copy" }), 0);
    assert.equal(value("litejoin_join_failing", { join: "copy" }), 0);
    // Sinks, the SSE sink's clients and drops
    assert.equal(value("litejoin_sink_delivered_total", { sink: "db" }), 6);
    assert.equal(value("litejoin_sink_delivered_total", { sink: "live" }), 6);
    assert.equal(value("litejoin_sink_backlog_results", { sink: "db" }), 0);
    assert.ok(value("litejoin_sink_send_seconds_count", { sink: "live" }) >= 1);
    assert.equal(value("litejoin_sse_clients", { sink: "live" }), 1);
    assert.equal(value("litejoin_sse_events_total", { sink: "live" }), 6);
    assert.equal(value("litejoin_sse_sent_events_total", { sink: "live" }), 6);
    assert.equal(value("litejoin_sse_disconnects_total", { sink: "live", reason: "lagging" }), 0);
    assert.equal(value("litejoin_sse_results", { sink: "live" }), 6);
    // The process
    assert.ok(value("process_resident_memory_bytes") > 0);
    assert.ok(Math.abs(value("process_start_time_seconds") - Date.now() / 1000) < 3600);
    assert.equal(value("litejoin_build_info"), 1);
  } finally {
    await client.close();
    await t.stop();
  }
});

Deno.test("http.cors answers preflights for ingest and streams, and marks the responses", async () => {
  const t = await startEngine(PIPELINE, {
    http: `cors: { origins: ["http://dash.test"] }`,
  });
  try {
    const preflight = await fetch(`${t.url}/orders`, {
      method: "OPTIONS",
      headers: {
        origin: "http://dash.test",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    await preflight.body?.cancel();
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "http://dash.test");
    assert.equal(preflight.headers.get("access-control-allow-headers"), "content-type");
    const posted = await t.post("/orders", { id: "x", n: 1 }, { origin: "http://dash.test" });
    await posted.body?.cancel();
    assert.equal(posted.headers.get("access-control-allow-origin"), "http://dash.test");
    const stream = await fetch(`${t.url}/live`, { headers: { origin: "http://dash.test" } });
    assert.equal(stream.headers.get("access-control-allow-origin"), "http://dash.test");
    assert.equal(stream.headers.get("content-type"), "text/event-stream; charset=utf-8");
    await stream.body?.cancel();
    const other = await fetch(`${t.url}/live/snapshot`, {
      headers: { origin: "http://evil.test" },
    });
    await other.body?.cancel();
    assert.equal(other.headers.has("access-control-allow-origin"), false);
  } finally {
    await t.stop();
  }
});

Deno.test("litejoin validate reports SSE path clashes and a missing static directory with positions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-validate-" });
  const validate = async (yaml: string) => {
    await Deno.writeTextFile(`${dir}/litejoin.yaml`, yaml);
    const { code, stderr } = await cli(["validate", "-c", `${dir}/litejoin.yaml`]);
    assert.equal(code, 2, stderr);
    return stderr.trim().split("\n").map((l) => l.replace(`${dir}/`, ""));
  };
  try {
    assert.deepEqual(
      await validate(`http:
  static: [{ path: /, dir: ./www }]
sources:
  - { name: in, type: http, path: /live/snapshot, topic: t, key: id }
joins:
  - { name: j, key: id, sql: "SELECT key AS id FROM t", sinks: [live, m] }
sinks:
  - { name: live, type: sse, path: /live }
  - { name: m, type: sse, path: /metrics }
`),
      [
        `litejoin.yaml:2:28: http.static[0].dir: ${dir}/www is not a directory`,
        "litejoin.yaml:8:36: sinks[0].path: /live/snapshot is already served by source in",
        "litejoin.yaml:9:33: sinks[1].path: /metrics is already served by the engine",
      ],
    );
    assert.deepEqual(
      await validate(`sinks:
  - { name: live, type: sse, path: /live/, replay_buffer: 0 }
`),
      [
        'litejoin.yaml:2:36: sinks[0].path: "/live/" must not end with / (write /live)',
        "litejoin.yaml:2:59: sinks[0].replay_buffer: must be at least 1, found 0",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
