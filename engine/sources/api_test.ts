/**
 * The API source against a real local HTTP server: each pagination style, the exact
 * change stream with `_change`, watermarks, and every way an upstream can fail.
 * Polls are triggered with `poll()` so that data changes fall between polls.
 */
import assert from "node:assert/strict";
import { type ConfigError, parseConfig } from "../config/load.ts";
import { HttpServer } from "../http/server.ts";
import { createLogger } from "../log.ts";
import { Metrics } from "../metrics.ts";
import { Meta } from "../store/meta.ts";
import { Writer } from "../store/writer.ts";
import { type Message, systemClock } from "../types.ts";
import { type ApiServer, startApiServer, users } from "../../tests/_api_server.ts";
import { queryFile } from "../../tests/_helpers.ts";
import { ApiSource, type ApiSourceConfig } from "./api.ts";
import type { RejectedInput } from "../dlq/entry.ts";

interface Harness {
  source: ApiSource;
  /** Every message committed, in commit order. */
  messages: Message[];
  /** What the source handed to the dead-letter queue. */
  rejected: RejectedInput[];
  lines: string[];
  metrics: Metrics;
  dataDir: string;
  close(): Promise<void>;
}

/** An API source named `users` built from YAML fields, writing topic `users` in `dataDir`. */
async function harness(
  fields: string,
  dataDir?: string,
  env: Record<string, string> = {},
): Promise<Harness> {
  const text = `sources:\n  - { name: users, type: api, topic: users, key: id, ${fields} }\n`;
  const config = parseConfig(text, "litejoin.yaml", (name) => env[name])
    .sources[0] as ApiSourceConfig;
  dataDir ??= await Deno.makeTempDir({ prefix: "litejoin-api-" });
  const meta = new Meta(`${dataDir}/meta.db`);
  const writer = await Writer.open({
    dataDir,
    shardCount: 2,
    topics: ["users"],
    flushIntervalMs: 5,
    batchSize: 1000,
    maxBacklog: 100_000,
  });
  const messages: Message[] = [];
  writer.onCommit((batch) => messages.push(...batch.messages));
  const lines: string[] = [];
  const log = createLogger({ level: "info", write: (l) => lines.push(l) }).child("source.users");
  const metrics = new Metrics();
  const http = new HttpServer(log);
  const rejected: RejectedInput[] = [];
  const dlq = { reject: (input: RejectedInput) => Promise.resolve(void rejected.push(input)) };
  const source = new ApiSource(
    "users",
    config,
    { writer, http, meta, clock: systemClock, log, metrics, dlq },
  );
  return {
    source,
    rejected,
    messages,
    lines,
    metrics,
    dataDir,
    close: async () => {
      await source.stop();
      await writer.close();
      meta.close();
    },
  };
}

/** The messages committed since `from`, sorted by key, as `key op {change}` tuples. */
function stream(h: Harness, from = 0) {
  return h.messages.slice(from)
    .map((m) => ({ key: m.key, payload: m.payload, _change: m._change }))
    .sort((a, b) => a.key.localeCompare(b.key, "en", { numeric: true }));
}

/** The rows of topic `users`: key → {payload, timestamp, _change}. */
function topic(dataDir: string) {
  const rows = new Map<string, { payload: unknown; timestamp: number; change: unknown }>();
  for (const shard of [0, 1]) {
    for (const r of queryFile(`${dataDir}/shard_${shard}.db`, "SELECT * FROM users")) {
      rows.set(String(r.key), {
        payload: JSON.parse(String(r.payload)),
        timestamp: Number(r.timestamp),
        change: r._change === null ? null : JSON.parse(String(r._change)),
      });
    }
  }
  return rows;
}

const errors = (h: Harness, reason: string) =>
  h.metrics.counter("litejoin_source_api_errors_total", "").get({ source: "users", reason });

async function withServer(
  records: ReturnType<typeof users>,
  fn: (api: ApiServer) => Promise<void>,
  pageSize = 100,
) {
  const api = await startApiServer(records, { pageSize });
  try {
    await fn(api);
  } finally {
    await api.stop();
  }
}

const STYLES = {
  cursor: {
    path: "/cursor",
    fields: "items: data, pagination: { type: cursor, param: cursor, next: meta.next_cursor }",
  },
  link: { path: "/link", fields: "pagination: { type: link }" },
  page: {
    path: "/page",
    fields: "items: results, pagination: { type: page, param: page, start: 1 }",
  },
  offset: {
    path: "/offset",
    fields:
      "items: items, pagination: { type: offset, param: offset, limit_param: limit, limit: 200 }",
  },
};

/** What each style asks for on a poll of 250 records in pages of 100. */
const PAGES = {
  cursor: [{}, { cursor: "c100" }, { cursor: "c200" }],
  link: [{}, { after: "100" }, { after: "200" }],
  page: [{ page: "1" }, { page: "2" }, { page: "3" }, { page: "4" }],
  // limit 200 is capped at 100 by the server: offsets advance by what arrived.
  offset: [0, 100, 200, 250].map((o) => ({ offset: String(o), limit: "200" })),
};

for (const [style, { path, fields }] of Object.entries(STYLES)) {
  Deno.test(`api source with ${style} pagination emits inserts, then only updates, adds and deletes`, () =>
    withServer(users(250), async (api) => {
      const h = await harness(`url: "${api.url}${path}", deletes: true, previous: true, ${fields}`);
      try {
        const first = await h.source.poll();
        assert.equal(first.ok, true, first.error);
        assert.deepEqual(api.log.map((r) => r.query), PAGES[style as keyof typeof PAGES]);
        assert.deepEqual(first.changes, { insert: 250, update: 0, delete: 0 });
        assert.deepEqual(stream(h).slice(0, 2), [
          { key: "u1", payload: users(1)[0], _change: { op: "insert" } },
          { key: "u2", payload: users(1, 2)[0], _change: { op: "insert" } },
        ]);
        const before = topic(h.dataDir);
        assert.equal(before.size, 250);
        assert.deepEqual(before.get("u5")!.change, { op: "insert" });

        // Nothing changed: nothing is written, not even a timestamp.
        const count = h.messages.length;
        assert.deepEqual((await h.source.poll()).changes, { insert: 0, update: 0, delete: 0 });
        assert.equal(h.messages.length, count);

        // Change u3's name and plan, drop u7, add u251.
        const next = users(251).filter((u) => u.id !== "u7");
        const u3 = next.find((u) => u.id === "u3")!;
        Object.assign(u3, { name: "Ada", plan: "team" });
        api.set(next);
        const third = await h.source.poll();
        assert.deepEqual(third.changes, { insert: 1, update: 1, delete: 1 });
        assert.deepEqual(stream(h, count), [
          {
            key: "u3",
            payload: u3,
            _change: { op: "update", fields: ["name", "plan"], previous: users(1, 3)[0] },
          },
          {
            key: "u7",
            payload: users(1, 7)[0],
            _change: { op: "delete", previous: users(1, 7)[0] },
          },
          { key: "u251", payload: users(251)[250], _change: { op: "insert" } },
        ]);
        const after = topic(h.dataDir);
        assert.equal(after.has("u7"), false);
        assert.deepEqual(after.get("u3")!.payload, u3);
        assert.deepEqual(
          after.get("u3")!.change,
          third.ok && {
            op: "update",
            fields: ["name", "plan"],
            previous: users(1, 3)[0],
          },
        );
        // Unchanged rows keep the timestamp of the poll that first wrote them.
        assert.equal(after.get("u100")!.timestamp, before.get("u100")!.timestamp);
      } finally {
        await h.close();
      }
    }));
}

Deno.test("api source without previous leaves it out of _change, and an unchanged item is silent", () =>
  withServer(users(3), async (api) => {
    const h = await harness(`url: "${api.url}/link", pagination: { type: link }, deletes: true`);
    try {
      await h.source.poll();
      const next = users(3);
      next[0].name = "changed";
      next.pop();
      api.set(next);
      const count = h.messages.length;
      await h.source.poll();
      assert.deepEqual(stream(h, count).map((m) => [m.key, m._change]), [
        ["u1", { op: "update", fields: ["name"] }],
        ["u3", { op: "delete" }],
      ]);
    } finally {
      await h.close();
    }
  }));

Deno.test("api source sends the highest watermark seen, and records it only after the commit", () =>
  withServer(users(5), async (api) => {
    const fields = `url: "${api.url}/cursor?status=any", items: data, ` +
      "pagination: { type: cursor, next: meta.next_cursor }, watermark: { field: updated_at, param: since }";
    const h = await harness(fields);
    try {
      await h.source.poll();
      assert.deepEqual(api.log[0].query, { status: "any" });
      const mark = users(5)[4].updated_at as string;
      // Items at the watermark come back (>=) and are not emitted again.
      const count = h.messages.length;
      await h.source.poll();
      assert.deepEqual(api.log[1].query, { status: "any", since: mark });
      assert.equal(h.messages.length, count);

      // A poll that fails records no new watermark.
      const next = [...users(5), ...users(2, 6)];
      api.set(next);
      api.faults.push({ status: 404, body: "gone" });
      assert.equal((await h.source.poll()).ok, false);
      await h.source.poll();
      assert.deepEqual(api.log.at(-1)!.query, { status: "any", since: mark });
      assert.deepEqual(stream(h, count).map((m) => m.key), ["u6", "u7"]);
      await h.source.poll();
      assert.equal(api.log.at(-1)!.query.since, next[6].updated_at);
    } finally {
      await h.close();
    }
  }));

Deno.test("api source keeps its state across a restart and emits nothing that did not change", () =>
  withServer(users(120), async (api) => {
    const fields =
      `url: "${api.url}/page", items: results, pagination: { type: page }, deletes: true`;
    const first = await harness(fields);
    await first.source.poll();
    assert.equal(first.messages.length, 120);
    await first.close();
    const again = await harness(fields, first.dataDir);
    try {
      assert.equal((await again.source.poll()).ok, true);
      assert.equal(again.messages.length, 0);
      const next = users(120);
      next[9].plan = "gold";
      api.set(next);
      await again.source.poll();
      assert.deepEqual(stream(again).map((m) => [m.key, m._change]), [
        ["u10", { op: "update", fields: ["plan"] }],
      ]);
    } finally {
      await again.close();
    }
  }));

Deno.test("api source retries a 500 with backoff and warns once, naming the URL", () =>
  withServer(users(150), async (api) => {
    const h = await harness(
      `url: "${api.url}/link", pagination: { type: link }, retries: 2, backoff: { initial: 10ms, max: 20ms }`,
    );
    try {
      api.faults.push(null, { status: 500, body: "boom" }, { status: 502, body: "bad gateway" });
      const outcome = await h.source.poll();
      assert.equal(outcome.ok, true, outcome.error);
      assert.deepEqual(api.log.map((r) => r.status), [200, 500, 502, 200]);
      assert.equal(outcome.changes.insert, 150);
      assert.equal(errors(h, "status"), 2);
      const warnings = h.lines.filter((l) => / warn /.test(l));
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0],
        new RegExp(
          `warn  source\\.users: 2 request attempt\\(s\\) failed and were retried; last: GET ${api.url}/link\\?after=100: answered 502: bad gateway$`,
        ),
      );
    } finally {
      await h.close();
    }
  }));

Deno.test("api source records nothing from a poll whose page fails after its retries", () =>
  withServer(users(150), async (api) => {
    const h = await harness(
      `url: "${api.url}/link", pagination: { type: link }, retries: 1, backoff: { initial: 10ms, max: 20ms }, deletes: true`,
    );
    try {
      api.faults.push(null, { status: 500, body: "boom" }, { status: 500, body: "boom" });
      const failed = await h.source.poll();
      assert.equal(failed.ok, false);
      assert.deepEqual(api.log.map((r) => r.status), [200, 500, 500]);
      assert.equal(h.messages.length, 0);
      assert.equal(errors(h, "status"), 2);
      const logged = h.lines.filter((l) => / (warn|error) /.test(l));
      assert.equal(logged.length, 1);
      assert.match(
        logged[0],
        new RegExp(
          `error source\\.users: poll failed, nothing recorded; next poll in 60000 ms: GET ${api.url}/link\\?after=100: answered 500: boom$`,
        ),
      );
      // The next poll starts over and emits every item, once.
      const outcome = await h.source.poll();
      assert.deepEqual(outcome.changes, { insert: 150, update: 0, delete: 0 });
      assert.equal(new Set(h.messages.map((m) => m.key)).size, 150);
    } finally {
      await h.close();
    }
  }));

Deno.test("api source does not retry a 404", () =>
  withServer(users(3), async (api) => {
    const h = await harness(`url: "${api.url}/link", pagination: { type: link }, retries: 5`);
    try {
      api.faults.push({ status: 404, body: '{"error":"no such list"}' });
      const outcome = await h.source.poll();
      assert.equal(outcome.error, `GET ${api.url}/link: answered 404: {"error":"no such list"}`);
      assert.equal(api.log.length, 1);
    } finally {
      await h.close();
    }
  }));

Deno.test("api source waits the Retry-After of a 429 before asking again", () =>
  withServer(users(3), async (api) => {
    const h = await harness(
      `url: "${api.url}/link", pagination: { type: link }, backoff: { initial: 1ms, max: 1ms }`,
    );
    try {
      api.faults.push({ status: 429, headers: { "retry-after": "1" } }, {
        status: 503,
        headers: { "retry-after": "0" },
      });
      const outcome = await h.source.poll();
      assert.equal(outcome.ok, true, outcome.error);
      const [limited, unavailable, ok] = api.log;
      assert.deepEqual([limited.status, unavailable.status, ok.status], [429, 503, 200]);
      // Measured by the server: the retry came a second after the 429 (less timer slack).
      assert.ok(
        unavailable.at - limited.at >= 990,
        `retried after ${unavailable.at - limited.at} ms`,
      );
      assert.equal(errors(h, "status"), 2);
    } finally {
      await h.close();
    }
  }));

Deno.test("api source fails a poll on a body that is not JSON, and says where", () =>
  withServer(users(3), async (api) => {
    const h = await harness(`url: "${api.url}/link", pagination: { type: link }`);
    try {
      api.faults.push({ raw: "<html>maintenance</html>" });
      const outcome = await h.source.poll();
      assert.equal(
        outcome.error,
        `GET ${api.url}/link: answered 200 with a body that is not JSON (content-type text/html): ` +
          'line 1 column 1: unexpected "<"',
      );
      assert.equal(errors(h, "json"), 1);
      assert.equal(h.messages.length, 0);
    } finally {
      await h.close();
    }
  }));

Deno.test("api source gives up on a request after timeout and retries it", () =>
  withServer(users(3), async (api) => {
    const h = await harness(
      `url: "${api.url}/link", pagination: { type: link }, timeout: 100ms, retries: 1, backoff: { initial: 1ms, max: 1ms }`,
    );
    try {
      api.faults.push({ delayMs: 400 }, { delayMs: 400 });
      const failed = await h.source.poll();
      assert.equal(failed.error, `GET ${api.url}/link: no complete answer within 100 ms`);
      assert.equal(errors(h, "timeout"), 2);
      assert.equal(api.log.length, 2);
      api.faults.push({ delayMs: 400 });
      assert.equal((await h.source.poll()).changes.insert, 3);
    } finally {
      await h.close();
    }
  }));

Deno.test("api source fails a poll whose response has no list at the items path", () =>
  withServer(users(3), async (api) => {
    const h = await harness(`url: "${api.url}/cursor", items: results`);
    try {
      const outcome = await h.source.poll();
      assert.equal(
        outcome.error,
        `GET ${api.url}/cursor: the response has nothing at "results", not a list of items ` +
          "(top-level keys: data, meta); set items to the dotted path of the list",
      );
      assert.equal(errors(h, "items"), 1);
      api.faults.push({ json: { data: [] } });
      const top = await harness(`url: "${api.url}/cursor"`);
      try {
        assert.match(
          (await top.source.poll()).error!,
          /the response has an object at the top level/,
        );
      } finally {
        await top.close();
      }
    } finally {
      await h.close();
    }
  }));

Deno.test("api source skips items without a key, counts them, and then deletes nothing", () =>
  withServer(users(4), async (api) => {
    const h = await harness(`url: "${api.url}/link", pagination: { type: link }, deletes: true`);
    try {
      await h.source.poll();
      const next: Record<string, unknown>[] = users(4).slice(0, 2);
      next.push({ name: "no id" }, { id: "", name: "empty id" }, 7 as never);
      api.set(next);
      const count = h.messages.length;
      const outcome = await h.source.poll();
      assert.equal(outcome.ok, true);
      assert.equal(h.messages.length, count, "u3 and u4 are not deleted from a broken snapshot");
      assert.equal(errors(h, "key"), 3);
      const warnings = h.lines.filter((l) => / warn /.test(l));
      assert.equal(warnings.length, 1);
      assert.match(
        warnings[0],
        new RegExp(
          `3 item\\(s\\) skipped, first: item 2 on GET ${api.url}/link has no key at "id" ` +
            "\\(a non-empty string or number\\); no deletes in this poll, as the snapshot is incomplete$",
        ),
      );
      // The next whole snapshot deletes them.
      api.set(users(2));
      await h.source.poll();
      assert.deepEqual(stream(h, count).map((m) => [m.key, m._change?.op]), [
        ["u3", "delete"],
        ["u4", "delete"],
      ]);
    } finally {
      await h.close();
    }
  }));

Deno.test("api source hands each distinct refused item to the dead-letter queue once", () =>
  withServer(users(2), async (api) => {
    const h = await harness(`url: "${api.url}/link", pagination: { type: link }`);
    try {
      api.set([...users(2), { name: "no id" }, 7 as never]);
      await h.source.poll();
      await h.source.poll(); // the same items again: not queued again
      assert.deepEqual(h.rejected.map((r) => [r.raw, r.reason, r.detail?.index]), [
        ['{"name":"no id"}', 'has no key at "id" (a non-empty string or number)', 2],
        ["7", "is not a JSON object", 3],
      ]);
      assert.equal(h.rejected[0].source, "users");
      assert.match(String(h.rejected[0].detail?.url), new RegExp(`^GET ${api.url}/link`));
      api.set([...users(2), { name: "no id", fixed: false }]); // changed: a new refusal
      await h.source.poll();
      assert.equal(h.rejected.length, 3);
      assert.equal(h.rejected[2].raw, '{"name":"no id","fixed":false}');
    } finally {
      await h.close();
    }
  }));

Deno.test("api source refuses an item nested deeper than SQLite's JSON functions read", () =>
  withServer(users(2), async (api) => {
    const h = await harness(`url: "${api.url}/link", pagination: { type: link }`);
    try {
      let deep: unknown = 1;
      for (let level = 0; level < 1000; level++) deep = [deep];
      api.set([...users(2), { id: "deep", x: deep }]);
      await h.source.poll();
      assert.deepEqual([...topic(h.dataDir).keys()].sort(), ["u1", "u2"]);
      assert.deepEqual(h.rejected.map((r) => r.reason), [
        "is nested deeper than 1000 levels of arrays and objects, more than SQLite's JSON " +
        "functions read",
      ]);
    } finally {
      await h.close();
    }
  }));

Deno.test("api source stops at max_pages, keeps what it read, and deletes nothing", () =>
  withServer(users(30), async (api) => {
    const h = await harness(
      `url: "${api.url}/page", items: results, pagination: { type: page }, max_pages: 2, deletes: true`,
    );
    try {
      const outcome = await h.source.poll();
      assert.equal(outcome.ok, true);
      assert.equal(outcome.pages, 2);
      assert.equal(outcome.changes.insert, 20);
      assert.equal(errors(h, "max_pages"), 1);
      assert.match(h.lines.join("\n"), /stopped after max_pages \(2\) with more pages to read/);
    } finally {
      await h.close();
    }
  }, 10));

Deno.test("api source fails a poll whose cursor does not advance", () =>
  withServer(users(3), async (api) => {
    const h = await harness(
      `url: "${api.url}/cursor", items: data, pagination: { type: cursor, next: meta.next_cursor }`,
    );
    try {
      const loop = { json: { data: users(1), meta: { next_cursor: "same" } } };
      api.faults.push(loop, loop);
      const outcome = await h.source.poll();
      assert.match(outcome.error!, /cursor=same: the cursor did not advance/);
      assert.equal(errors(h, "pagination"), 1);
      assert.equal(h.messages.length, 0);
    } finally {
      await h.close();
    }
  }));

Deno.test("api source spaces every request of a poll by its rate limit, retries included", () =>
  withServer(users(10), async (api) => {
    const h = await harness(
      `url: "${api.url}/link", pagination: { type: link }, rate_limit: 20, retries: 2, backoff: { initial: 1ms, max: 1ms }`,
    );
    try {
      api.faults.push(null, null, { status: 500 });
      const outcome = await h.source.poll();
      assert.equal(outcome.ok, true, outcome.error);
      // 10 pages of one item, one retry.
      assert.equal(api.log.length, 11);
      const at = api.log.map((r) => r.at);
      // Measured by the server: request j is sent at least (j - i) × 50 ms after request
      // i's token, which is taken after request i - 1 was received. So any two requests
      // i < j arrive at least (j - i - 1) × 50 ms apart, however late timers fire (2 ms
      // for timer rounding). Unlimited, all eleven arrive within a few ms.
      for (let i = 0; i < at.length; i++) {
        for (let j = i + 2; j < at.length; j++) {
          const gap = at[j] - at[i];
          assert.ok(gap >= (j - i - 1) * 50 - 2, `requests ${i}..${j}: ${gap} ms`);
        }
      }
      assert.ok(at[10] - at[0] >= 9 * 50 - 2);
    } finally {
      await h.close();
    }
  }, 1));

Deno.test("api source sends the method, headers (with ${ENV}) and body it is configured with", () =>
  withServer(users(2), async (api) => {
    const h = await harness(
      `url: "${api.url}/link", method: POST, headers: { Authorization: "Bearer \${API_TOKEN}" }, ` +
        "body: { filter: { active: true } }",
      undefined,
      { API_TOKEN: "s3cret" },
    );
    try {
      await h.source.poll();
      const [request] = api.log;
      assert.equal(request.method, "POST");
      assert.equal(request.headers.get("authorization"), "Bearer s3cret");
      assert.equal(request.headers.get("content-type"), "application/json");
      assert.deepEqual(JSON.parse(request.body), { filter: { active: true } });
    } finally {
      await h.close();
    }
  }));

Deno.test("api source refuses a response over max_response and says so", () =>
  withServer(users(50), async (api) => {
    const h = await harness(`url: "${api.url}/link", max_response: 1KiB`);
    try {
      const outcome = await h.source.poll();
      assert.equal(
        outcome.error,
        `GET ${api.url}/link: response is over max_response (1024 bytes)`,
      );
      assert.equal(errors(h, "too_large"), 1);
    } finally {
      await h.close();
    }
  }));

Deno.test("api source counts a refused connection as a network error and retries it", async () => {
  const closed = await startApiServer([]);
  await closed.stop();
  const h = await harness(
    `url: "${closed.url}/link", retries: 1, backoff: { initial: 1ms, max: 1ms }`,
  );
  try {
    const outcome = await h.source.poll();
    assert.match(outcome.error!, new RegExp(`^GET ${closed.url}/link: .*(refused|connect)`, "i"));
    assert.equal(errors(h, "network"), 2);
    assert.equal(
      h.metrics.counter("litejoin_source_api_requests_total", "").get({ source: "users" }),
      2,
    );
  } finally {
    await h.close();
  }
});

Deno.test("api source sends the initial watermark before any poll is recorded", () =>
  withServer(users(3), async (api) => {
    const h = await harness(
      `url: "${api.url}/link", watermark: { field: updated_at, param: since, initial: "2026-01-01T00:00:00.000002Z" }`,
    );
    try {
      await h.source.poll();
      assert.equal(api.log[0].query.since, "2026-01-01T00:00:00.000002Z");
      assert.deepEqual(stream(h).map((m) => m.key), ["u2", "u3"]);
    } finally {
      await h.close();
    }
  }));

Deno.test("api source config reports every mistake with its position", () => {
  const text = `sources:
  - name: a
    type: api
    url: ftp://x
    topic: users
    key: id
    items: "data..list"
    interval: 0
    pagination: { type: page, size: 10 }
  - { name: b, type: api, url: "http://x", topic: users, key: id, deletes: true, watermark: { field: updated_at, param: since } }
  - { name: c, type: api, url: "http://x", topic: users, key: id, body: { q: 1 } }
  - name: d
    type: api
    url: "http://x"
    topic: users
    key: id
    pagination: { type: offset, param: since }
    watermark: { field: updated_at, param: since }
  - { name: e, type: api, url: "http://x", topic: users, key: id, pagination: { type: pages } }
`;
  let lines: string[] = [];
  try {
    parseConfig(text, "litejoin.yaml");
  } catch (error) {
    lines = (error as ConfigError).lines;
  }
  assert.deepEqual(lines, [
    'litejoin.yaml:4:10: sources[0].url: "ftp://x" must be an http:// or https:// URL',
    'litejoin.yaml:7:12: sources[0].items: "data..list" must be a dotted path such as data or result.items, or empty for a top-level list',
    "litejoin.yaml:8:15: sources[0].interval: must be above 0",
    "litejoin.yaml:9:17: sources[0].pagination: size_param and size go together: give both or neither",
    "litejoin.yaml:10:5: sources[1]: deletes needs full snapshots, and a watermark polls only what changed; remove one",
    "litejoin.yaml:11:5: sources[2]: a body needs method: POST",
    "litejoin.yaml:12:5: sources[3]: watermark.param since is also a pagination parameter; choose another",
    'litejoin.yaml:19:87: sources[4].pagination.type: "pages" is not one of cursor, link, page, offset (did you mean "page"?)',
  ]);
});
