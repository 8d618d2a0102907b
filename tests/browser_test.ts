/// <reference lib="dom" />
/**
 * The example page (examples/live_table/) in Debian's chromium, against the example
 * pipeline (examples/live_table.yaml) with its generators removed so that the test
 * decides what data arrives.
 */
import assert from "node:assert/strict";
import { isMap, parseDocument, type YAMLSeq } from "yaml";
import type { Page } from "playwright-core";
import { Engine, parseConfig } from "../engine/mod.ts";
import type { SseSink } from "../engine/sinks/sse.ts";
import { quietLog } from "./_helpers.ts";
import { launchChromium } from "./_browser.ts";

const EXAMPLE = new URL("../examples/live_table.yaml", import.meta.url).pathname;
const PAGE_DIR = new URL("../examples/live_table", import.meta.url).pathname;

/** The example config, listening on `port`, with data in `dir` and no generators. */
function exampleConfig(
  dir: string,
  port: number,
  extra: (doc: ReturnType<typeof parseDocument>) => void = () => {},
) {
  const doc = parseDocument(Deno.readTextFileSync(EXAMPLE));
  doc.setIn(["http", "listen"], `127.0.0.1:${port}`);
  doc.setIn(["engine", "data_dir"], "./data");
  doc.setIn(["http", "static", 0, "dir"], PAGE_DIR);
  const sources = doc.get("sources") as YAMLSeq;
  sources.items = sources.items.filter((item) => !(isMap(item) && item.get("type") === "generate"));
  extra(doc);
  const text = doc.toString();
  Deno.writeTextFileSync(`${dir}/litejoin.yaml`, text);
  return parseConfig(text, `${dir}/litejoin.yaml`);
}

interface Running {
  engine: Engine;
  url: string;
  post(path: string, body: unknown): Promise<void>;
  /** Waits until every posted change has been delivered; returns the last event id. */
  settle(): Promise<string>;
  /** The join's result, straight from SQLite, as the page should render it. */
  expected(columns: string[]): Promise<string[][]>;
}

/** `ingestToken`: the bearer token posts send, when the config has http.auth. */
async function run(
  config: ReturnType<typeof exampleConfig>,
  ingestToken?: string,
): Promise<Running> {
  const engine = await Engine.start(config, { log: quietLog });
  const url = `http://127.0.0.1:${engine.address.port}`;
  const sql = config.joins.find((j) => j.name === "order_board")!.sql;
  return {
    engine,
    url,
    post: async (path, body) => {
      const response = await fetch(url + path, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(ingestToken ? { authorization: `Bearer ${ingestToken}` } : {}),
        },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 202, await response.text());
    },
    settle: async () => {
      await engine.writer.flush();
      await engine.joiner.drain();
      return String((engine.sinks.get("board")!.sink as SseSink).head);
    },
    expected: async (columns) =>
      byKey(
        (await engine.readers.all(sql)).map((row) =>
          columns.map((c) => row[c] === null || row[c] === undefined ? "" : String(row[c]))
        ),
      ),
  };
}

const byKey = (rows: string[][]) => rows.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** The rendered table: its header, and its rows sorted by key. */
async function rendered(page: Page) {
  const { header, rows } = await page.evaluate(() => {
    const table = document.querySelector('table[data-name="order_board"]') as HTMLTableElement;
    const text = (row: HTMLTableRowElement) => [...row.cells].map((c) => c.textContent ?? "");
    return { header: text(table.tHead!.rows[0]), rows: [...table.tBodies[0].rows].map(text) };
  });
  return { header, rows: byKey(rows) };
}

/** Waits until the page shows event `id` as its last, and the table is rendered. */
async function pageAt(page: Page, id: string) {
  await page.waitForFunction(
    (id) => document.getElementById("last-id")!.textContent === id,
    id,
    { timeout: 30_000 },
  );
}

let orderNo = 0;
/** A round of changes: new orders, updates, cancellations, renamed customers. */
async function changes(t: Running, round: number) {
  const status = ["open", "paid", "shipped", "cancelled"];
  await t.post(
    "/ingest/orders",
    Array.from({ length: 4 }, (_, i) => ({
      id: `o-${(orderNo++ % 25) + 1}`,
      customer_id: `c-${((round * 3 + i) % 7) + 1}`, // c-7 arrives only later
      amount: 10 * round + i,
      status: status[(round + i) % 4],
    })),
  );
  await t.post("/ingest/customers", { id: `c-${(round % 5) + 1}`, name: `Name ${round}` });
}

Deno.test("the example page hydrates, follows the stream, survives restarts, and matches the join in SQLite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-browser-" });
  let t = await run(exampleConfig(dir, 0));
  const port = t.engine.address.port;
  const browser = await launchChromium();
  try {
    // State before the page opens: the page must get it from the snapshot.
    await t.post(
      "/ingest/customers",
      [1, 2, 3, 4, 5, 6].map((n) => ({ id: `c-${n}`, name: `C${n}` })),
    );
    for (let round = 0; round < 3; round++) await changes(t, round);
    let head = await t.settle();

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${t.url}/`);
    await pageAt(page, head);
    // The snapshot's id shows before the stream opens: "live" follows once it has.
    await page.waitForFunction(() => document.getElementById("status")!.textContent === "live");
    const columns = (await rendered(page)).header;
    assert.deepEqual(columns, ["order_id", "customer", "amount", "status"]);
    assert.ok((await t.expected(columns)).length >= 5);
    assert.deepEqual((await rendered(page)).rows, await t.expected(columns));

    // Follows the stream while data is posted.
    for (let round = 3; round < 12; round++) await changes(t, round);
    await t.post("/ingest/customers", { id: "c-7", name: "Late" }); // orders waiting on c-7 appear
    head = await t.settle();
    await pageAt(page, head);
    assert.deepEqual((await rendered(page)).rows, await t.expected(columns));

    // Restart: the browser reconnects by itself and resumes by Last-Event-ID.
    await t.engine.stop();
    await page.waitForFunction(() => document.getElementById("status")!.textContent !== "live");
    t = await run(exampleConfig(dir, port));
    for (let round = 12; round < 16; round++) await changes(t, round);
    head = await t.settle();
    await pageAt(page, head);
    assert.equal(await page.textContent("#rehydrations"), "0");
    assert.deepEqual((await rendered(page)).rows, await t.expected(columns));

    // The sink's state file deleted while stopped: the new stream tells the page to
    // re-hydrate, and the snapshot, seeded from the join, is complete.
    await t.engine.stop();
    for (const suffix of ["", "-wal", "-shm"]) {
      await Deno.remove(`${dir}/data/sse_board.db${suffix}`).catch(() => {});
    }
    t = await run(exampleConfig(dir, port));
    await changes(t, 16);
    head = await t.settle();
    await pageAt(page, head);
    assert.equal(await page.textContent("#rehydrations"), "1");
    assert.deepEqual((await rendered(page)).rows, await t.expected(columns));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await t.engine.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the example page on another origin reads the stream through CORS", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-browser-cors-" });
  const page = await Deno.readTextFile(`${PAGE_DIR}/index.html`);
  // The page's own server, on another port: another origin.
  const site = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );
  const origin = `http://127.0.0.1:${site.addr.port}`;
  const t = await run(
    exampleConfig(
      dir,
      0,
      (doc) => doc.setIn(["http", "cors"], doc.createNode({ origins: [origin] })),
    ),
  );
  const browser = await launchChromium();
  try {
    await t.post("/ingest/customers", { id: "c-1", name: "Ada" });
    await t.post("/ingest/orders", { id: "o-1", customer_id: "c-1", amount: 5, status: "paid" });
    let head = await t.settle();
    const tab = await browser.newPage();
    await tab.goto(`${origin}/?stream=${encodeURIComponent(`${t.url}/stream/orders`)}`);
    await pageAt(tab, head);
    await t.post("/ingest/orders", { id: "o-2", customer_id: "c-1", amount: 7, status: "open" });
    head = await t.settle();
    await pageAt(tab, head);
    const columns = (await rendered(tab)).header;
    assert.deepEqual((await rendered(tab)).rows, await t.expected(columns));
    assert.deepEqual((await rendered(tab)).rows.map((r) => r[0]), ["o-1", "o-2"]);
  } finally {
    await browser.close();
    await t.engine.stop();
    await site.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with http.auth, a browser is sent to log in, and the page then reads the snapshot and the stream with its cookie", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-browser-auth-" });
  const ingest = "ingest-0123456789abcdef";
  const read = "read-0123456789abcdef01";
  const t = await run(
    exampleConfig(dir, 0, (doc) =>
      doc.setIn(
        ["http", "auth"],
        doc.createNode({
          tokens: [
            { name: "feeder", token: ingest, scopes: ["ingest"] },
            { name: "viewer", token: read, scopes: ["read"] },
          ],
        }),
      )),
    ingest,
  );
  const browser = await launchChromium();
  try {
    await t.post("/ingest/customers", { id: "c-1", name: "Ada" });
    await t.post("/ingest/orders", { id: "o-1", customer_id: "c-1", amount: 5, status: "paid" });
    let head = await t.settle();

    // The page sends the browser to the login form; on it, without the cookie, the
    // stream is refused.
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on("pageerror", (error) => errors.push(error.message));
    await tab.goto(`${t.url}/`);
    assert.equal(new URL(tab.url()).pathname, "/auth/login");
    assert.equal(
      await tab.evaluate(async () => {
        const source = new EventSource("/stream/orders");
        return await new Promise((resolve) => source.onerror = () => resolve(source.readyState));
      }),
      2, // EventSource.CLOSED: the 401 is final
    );
    await tab.fill('input[name="token"]', "not-the-token-at-all");
    await tab.click('button[type="submit"]');
    await tab.waitForSelector("text=That token is not valid.");
    await tab.fill('input[name="token"]', read);
    await tab.click('button[type="submit"]');
    await tab.waitForURL(`${t.url}/`);
    // The cookie is HttpOnly: the page's scripts cannot read it.
    assert.equal(await tab.evaluate(() => document.cookie.includes("litejoin_session")), false);
    await pageAt(tab, head);
    await tab.waitForFunction(() => document.getElementById("status")!.textContent === "live");
    await t.post("/ingest/orders", { id: "o-2", customer_id: "c-1", amount: 7, status: "open" });
    head = await t.settle();
    await pageAt(tab, head);
    const columns = (await rendered(tab)).header;
    assert.deepEqual((await rendered(tab)).rows, await t.expected(columns));
    assert.deepEqual((await rendered(tab)).rows.map((r) => r[0]), ["o-1", "o-2"]);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await t.engine.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
