import assert from "node:assert/strict";
import { render } from "ink-testing-library";
import { Console } from "./console.tsx";
import { allocate } from "./dashboard.tsx";
import { entries, FakeLink, KEY, NOW, press, stats, tick } from "./_fixtures.ts";
import type { SqlResult, TailResult } from "../engine/client.ts";

function frame(lastFrame: () => string | undefined): string[] {
  return (lastFrame() ?? "").split("\n");
}

function assertFits(lines: string[], width: number, height: number) {
  assert.equal(lines.length, height, `fills exactly ${height} lines:\n${lines.join("\n")}`);
  for (const line of lines) assert.ok(line.length <= width, `wider than ${width}: "${line}"`);
}

const result = (rows: number): SqlResult => ({
  columns: ["key", "amount", "customer"],
  rows: Array.from({ length: rows }, (_, i) => [`o-${i}`, i * 3, i % 5 ? `c-${i}` : null]),
  truncated: false,
  ms: 2.5,
  row_limit: 1000,
  time_limit_ms: 30_000,
});

Deno.test("the dashboard fits 80x24: shards with sparklines, topics, health with reasons, the DLQ", async () => {
  const link = new FakeLink();
  const { lastFrame, unmount } = render(<Console link={link} width={80} height={24} />);
  const lines = frame(lastFrame);
  assertFits(lines, 80, 24);
  assert.match(
    lines[0],
    /^LiteJoin 0\.1\.0 · pid 4242 · up 1h 2m · 127\.0\.0\.1:8080 · 2 shards .*● connected$/,
  );
  assert.match(lines[1], /\[ 1 Dashboard \].*health ✕ FAIL$/);
  const text = lines.join("\n");
  assert.match(text, /s0 +[▁▂▃▄▅▆▇█]{30,} +1\.2k +5ms +12 MB +4\.0 MB/);
  assert.match(text, /orders +1,234,567 +250 MB +2\.3k +9\.0M/);
  assert.match(text, /● ok +join enriched_orders +5\.3k evals +10ms +1\.5s ok/);
  assert.match(text, /✕ FAIL sink hook +11k sent +50ms +3 results failed delivery/);
  assert.match(text, /DLQ {2}not enabled/);
  assert.match(lines[23], /1-4\/Tab views {2}\/ filter {2}\? help {2}q quit/);
  unmount();
  await tick();
});

Deno.test("the console follows the terminal size, down to a small one", async () => {
  const link = new FakeLink();
  const { lastFrame, rerender, unmount } = render(<Console link={link} width={100} height={30} />);
  assertFits(frame(lastFrame), 100, 30);
  rerender(<Console link={link} width={60} height={12} />);
  await tick();
  const lines = frame(lastFrame);
  assertFits(lines, 60, 12);
  assert.match(lines.join("\n"), /… \d+ more below/);
  unmount();
  await tick();
});

Deno.test("/ filters the dashboard's tables; Esc clears the filter", async () => {
  const link = new FakeLink();
  const { lastFrame, stdin, unmount } = render(<Console link={link} width={80} height={24} />);
  await press(stdin, "/", "o", "r", "d");
  let text = frame(lastFrame).join("\n");
  assert.match(frame(lastFrame)[23], /^\/ord█/);
  assert.match(text, /orders/);
  assert.doesNotMatch(text, /customers|payments/);
  await press(stdin, KEY.enter);
  text = frame(lastFrame).join("\n");
  assert.match(frame(lastFrame)[1], /filter: ord/);
  assert.match(text, /join enriched_orders/);
  assert.doesNotMatch(text, /sink hook/);
  await press(stdin, KEY.esc);
  assert.match(frame(lastFrame).join("\n"), /customers/);
  unmount();
  await tick();
});

Deno.test("the SQL prompt takes several lines, runs on ;, pages the result and recalls history", async () => {
  const link = new FakeLink();
  link.answer = () => result(40);
  const { lastFrame, stdin, unmount } = render(<Console link={link} width={80} height={24} />);
  await press(
    stdin,
    "2",
    ..."SELECT key, amount, customer",
    KEY.enter,
    ..."FROM orders WHERE q = 1",
  );
  let lines = frame(lastFrame);
  assert.match(lines[2], /^sql> SELECT key, amount, customer$/);
  assert.match(lines[3], /^ \.\.> FROM orders WHERE q = 1█$/);
  assert.equal(link.requests.length, 0, "Enter without ; adds a line");
  await press(stdin, ";", KEY.enter);
  await tick();
  assert.deepEqual(link.requests[0], {
    method: "sql",
    params: {
      sql: "SELECT key, amount, customer\nFROM orders WHERE q = 1;",
      max_rows: 1000,
      query_id: "console-1",
    },
  });
  lines = frame(lastFrame);
  assertFits(lines, 80, 24);
  assert.match(lines[2], /^sql> █$/);
  assert.match(lines[3], /^40 rows · 3ms · rows 1-17$/);
  assert.match(lines[5], /^ key +amount customer$/);
  assert.match(lines[6], /^ o-0 +0 NULL$/);
  await press(stdin, KEY.pageDown);
  assert.match(frame(lastFrame)[3], /rows 18-34/);
  assert.match(frame(lastFrame)[6], /^ o-17 +51 c-17$/);
  await press(stdin, KEY.up);
  assert.match(frame(lastFrame)[2], /^sql> SELECT key, amount, customer$/);
  await press(stdin, KEY.down, ..."q?1");
  assert.match(frame(lastFrame)[2], /^sql> q\?1█$/, "q, ? and digits are text in the prompt");
  unmount();
  await tick();
});

Deno.test("the SQL prompt shows errors inline, and Ctrl+C cancels a running query before it quits", async () => {
  const link = new FakeLink();
  let release: (() => void) | undefined;
  link.answer = (method, params) => {
    if (method === "sql" && String(params.sql).startsWith("DELETE")) {
      throw new Error("read-only console: DELETE from orders not allowed");
    }
    if (method === "sql") return new Promise((resolve) => release = () => resolve(result(1)));
    return { cancelled: 1 };
  };
  let quit = 0;
  const { lastFrame, stdin, unmount } = render(
    <Console link={link} width={80} height={24} onQuit={() => quit++} />,
  );
  await press(stdin, "2", ..."DELETE FROM s0.orders;", KEY.enter);
  await tick();
  assert.match(frame(lastFrame)[3], /^error: read-only console: DELETE from orders not allowed$/);
  await press(stdin, ..."SELECT 1", KEY.ctrlE);
  assert.match(frame(lastFrame)[3], /^running… \(Ctrl\+C cancels\) {2}SELECT 1/);
  await press(stdin, KEY.ctrlC);
  assert.deepEqual(link.requests.at(-1), {
    method: "sql.cancel",
    params: { query_id: "console-2" },
  });
  assert.equal(quit, 0);
  release!();
  await tick();
  await press(stdin, KEY.ctrlC);
  await tick();
  assert.equal(quit, 1);
  unmount();
});

Deno.test("the tail view lists topics, tails one with a filter, and shows a message in full", async () => {
  const link = new FakeLink();
  const tail: TailResult = {
    topic: "orders",
    rows: 1_234_567,
    messages: ["o-9", "o-8", "x-7"].map((key, i) => ({
      key,
      timestamp: 1_700_000_000_000 - i * 1000,
      payload: JSON.stringify({ id: key, amount: 10 + i }),
      change: null,
      shard: i % 2,
    })),
  };
  link.answer = () => tail;
  const { lastFrame, stdin, unmount } = render(
    <Console link={link} width={80} height={24} tailEveryMs={60_000} />,
  );
  await press(stdin, "3");
  assert.match(frame(lastFrame).join("\n"), />customers/);
  await press(stdin, KEY.down, KEY.enter);
  await tick();
  assert.deepEqual(link.requests[0], { method: "tail", params: { topic: "orders", limit: 100 } });
  let text = frame(lastFrame).join("\n");
  assert.match(
    text,
    /TAIL orders · 1,234,567 rows · 2\.3k msg\/s · newest 3 · refreshing every second/,
  );
  assert.match(text, />\d\d:\d\d:\d\d\.000 o-9 +\{"id":"o-9","amount":10\}/);
  await press(stdin, "/", "x", KEY.enter);
  text = frame(lastFrame).join("\n");
  assert.match(text, /x-7/);
  assert.doesNotMatch(text, /o-9/);
  await press(stdin, KEY.enter);
  text = frame(lastFrame).join("\n");
  assert.match(text, /key +x-7/);
  assert.match(text, /"amount": 12/);
  await press(stdin, KEY.esc, KEY.esc, KEY.esc);
  assert.match(frame(lastFrame).join("\n"), /Choose a topic to tail/);
  unmount();
  await tick();
});

Deno.test("the DLQ view says when there is no DLQ: methods not served, or served while disabled", async () => {
  for (const methods of [["stats"], ["stats", "dlq.stats", "dlq.list"]]) {
    const { lastFrame, stdin, unmount } = render(
      <Console link={new FakeLink({ methods })} width={80} height={24} />,
    );
    await press(stdin, "4");
    assert.match(frame(lastFrame)[2], /^DLQ not enabled$/);
    await press(stdin, "1");
    assert.match(frame(lastFrame).join("\n"), /DLQ {2}not enabled/);
    unmount();
    await tick();
  }
});

Deno.test("a rejected input in the DLQ is shown and purgeable, never replayed", async () => {
  const rejected = {
    ...entries[0],
    id: 9,
    sink: null,
    source: "orders_in",
    key: null,
    status: "rejected",
    error: "not JSON: Unexpected token",
  };
  const link = new FakeLink({
    methods: ["dlq.stats", "dlq.list", "dlq.purge"],
    stats: stats({ dlq: { total: 1, by_sink: {}, rejected: { orders_in: 1 } } }),
  });
  link.answer = (method) => method === "dlq.list" ? { entries: [rejected] } : { purged: 1 };
  const { lastFrame, stdin, unmount } = render(
    <Console link={link} width={80} height={24} dlqEveryMs={60_000} />,
  );
  await press(stdin, "4");
  await tick();
  assert.match(frame(lastFrame).join("\n"), />\s+9 \(orders_in\) +rejected/);
  assert.match(frame(lastFrame)[2], /1 rejected at sources/);
  await press(stdin, "r");
  assert.match(frame(lastFrame)[23], /^a rejected input is kept to be looked at, never sent/);
  await press(stdin, "x");
  assert.match(frame(lastFrame)[23], /^Purge entry 9 \(input rejected by orders_in\)\?/);
  await press(stdin, "y");
  await tick();
  assert.deepEqual(link.requests.find((r) => r.method === "dlq.purge"), {
    method: "dlq.purge",
    params: { id: 9 },
  });
  unmount();
  await tick();
});

Deno.test("the DLQ view lists entries, and replays and purges only after y", async () => {
  const link = new FakeLink({
    methods: ["stats", "dlq.stats", "dlq.list", "dlq.replay", "dlq.purge"],
    stats: stats({
      dlq: {
        total: 3,
        by_sink: {
          hook: { retrying: 1, dead: 1, delivered: 0, oldest_failed_at: NOW - 600_000 },
          results_db: { retrying: 0, dead: 1, delivered: 0, oldest_failed_at: NOW - 300_000 },
        },
        rejected: {},
      },
    }),
  });
  link.answer = (method) => {
    if (method === "dlq.list") return { entries };
    if (method === "dlq.replay") return { replayed: 1, delivered: 1, failed: 0 };
    if (method === "dlq.purge") return { purged: 1 };
  };
  const { lastFrame, stdin, unmount } = render(
    <Console link={link} width={80} height={24} dlqEveryMs={60_000} />,
  );
  await press(stdin, "4");
  await tick();
  let lines = frame(lastFrame);
  assert.match(
    lines[2],
    /^DLQ · 3 waiting · hook: 1 retrying, 1 dead, oldest 10m ago · results_db/,
  );
  assert.match(lines.join("\n"), />\s+1 hook +retrying +8 +1m o-1 +connection refused/);
  await press(stdin, KEY.down, "r");
  assert.match(frame(lastFrame)[23], /^Replay entry 2 to sink hook\? \[y\/N\]/);
  await press(stdin, "n");
  assert.match(frame(lastFrame)[23], /^cancelled/);
  assert.ok(!link.requests.some((r) => r.method === "dlq.replay"));
  await press(stdin, "r", "y");
  await tick();
  assert.deepEqual(link.requests.find((r) => r.method === "dlq.replay"), {
    method: "dlq.replay",
    params: { id: 2 },
  });
  assert.match(frame(lastFrame)[23], /^replayed 1: 1 delivered, 0 failed again/);
  await press(stdin, KEY.down, "X", "y");
  await tick();
  assert.deepEqual(link.requests.find((r) => r.method === "dlq.purge"), {
    method: "dlq.purge",
    params: { sink: "results_db", status: "dead" },
  });
  assert.match(frame(lastFrame)[23], /^purged 1 entry/);
  await press(stdin, "s");
  assert.deepEqual(link.requests.at(-1), {
    method: "dlq.list",
    params: { status: "retrying", limit: 500 },
  });
  lines = frame(lastFrame);
  assertFits(lines, 80, 24);
  unmount();
  await tick();
});

Deno.test("? shows the help and any key closes it; q quits", async () => {
  let quit = 0;
  const { lastFrame, stdin, unmount } = render(
    <Console link={new FakeLink()} width={80} height={24} onQuit={() => quit++} />,
  );
  await press(stdin, "?");
  assert.match(frame(lastFrame).join("\n"), /Ctrl\+E +run the query as it is/);
  assert.match(frame(lastFrame)[23], /press any key to close the help/);
  await press(stdin, "x");
  assert.match(frame(lastFrame).join("\n"), /SHARD/);
  await press(stdin, "q");
  await tick();
  assert.equal(quit, 1);
  unmount();
});

Deno.test("the header says when the engine is down and why, and recovers when it is back", async () => {
  const link = new FakeLink();
  const { lastFrame, unmount } = render(<Console link={link} width={100} height={30} />);
  link.set({ connection: "down", reason: "no engine is listening at /srv/data/litejoin.sock" });
  await tick();
  assert.match(
    frame(lastFrame)[0],
    /no engine is listening at \/srv\/data\/litejoin\.sock +✕ engine down, retrying$/,
  );
  link.set({ connection: "connected", reason: "" });
  await tick();
  assert.match(frame(lastFrame)[0], /● connected$/);
  unmount();
  await tick();
});

Deno.test("dashboard sections share the lines: each gets its header and a row, then the rest in turn", () => {
  assert.deepEqual(allocate([5, 4, 3], 20), [5, 4, 3]);
  assert.deepEqual(allocate([11, 30, 6], 15), [5, 5, 5]);
  assert.deepEqual(allocate([3, 30, 2], 12), [3, 7, 2]);
});

Deno.test("while tailing, a stats push alone draws no frame: the tail's refresh draws stats and messages together", async () => {
  const link = new FakeLink();
  let n = 0;
  link.answer = () => ({
    topic: "orders",
    rows: 10,
    messages: [{ key: `k-${++n}`, timestamp: NOW, payload: "{}", change: null, shard: 0 }],
  });
  const { lastFrame, frames, stdin, unmount } = render(
    <Console link={link} width={80} height={24} tailEveryMs={60_000} />,
  );
  await press(stdin, "3", KEY.down, KEY.enter);
  await tick();
  assert.match(lastFrame()!, /k-1/);
  const drawn = frames.length;
  link.set({ stats: stats({ uptime_seconds: 7200 }) });
  await tick();
  assert.equal(frames.length, drawn, "no frame for the push alone");
  assert.match(lastFrame()!, /up 1h 2m/);
  await press(stdin, "p", "p"); // pause and resume: resuming refetches
  await tick();
  assert.match(lastFrame()!, /k-2/);
  assert.match(lastFrame()!, /up 2h 0m/);
  unmount();
  await tick();
});
