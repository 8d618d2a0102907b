/**
 * The cost of closing many windows at once over a topic that holds many rows: ROWS
 * bids (a Nexmark-like bidder and price, event time in the payload field `t`, 2 ms
 * apart) give KEYS session windows (one per bidder) and ROWS / 50 tumbling windows of
 * 100 ms. Each window kind is rebuilt from the topic as after a restart, then the
 * clock moves past every close at once (a grace of an hour keeps them all open till then); the figure is the time until every window's
 * results are delivered. The shards keep the indexes the engine would create.
 */
import { parseConfig } from "../engine/config/load.ts";
import { engineIndexes } from "../engine/indexes.ts";
import { silentLogger } from "../engine/log.ts";
import { Metrics } from "../engine/metrics.ts";
import { Meta } from "../engine/store/meta.ts";
import { Readers } from "../engine/store/readers.ts";
import { Writer } from "../engine/store/writer.ts";
import type { Result } from "../engine/types.ts";
import { FakeClock } from "../engine/fake_clock.ts";
import { Windower } from "../engine/windows/windower.ts";

const T = Date.UTC(2030, 0, 1);
const STEP = 2;

const yaml = (keys: number) => `
engine: { shard_count: 4 }
sources: [{ name: in, type: http, path: /in, topic: bids, key: id }]
sinks: [{ name: out, type: sqlite, path: ./out.db }]
windows:
  - name: sessions
    type: session
    gap: ${Math.max(10, keys * STEP * 3)}ms
    key: bidder
    time: t
    grace: 1h
    sql: |
      SELECT count(*) AS bids, max(json_extract(payload, '$.price')) AS top FROM bids
      WHERE json_extract(payload, '$.bidder') = :session_key
        AND json_extract(payload, '$.t') >= :window_start AND json_extract(payload, '$.t') < :window_end
    sinks: [out]
  - name: tumbling
    type: tumbling
    size: 100ms
    time: t
    grace: 1h
    sql: |
      SELECT count(*) AS bids, max(json_extract(payload, '$.price')) AS top FROM bids
      WHERE json_extract(payload, '$.t') >= :window_start AND json_extract(payload, '$.t') < :window_end
    sinks: [out]
`;

export interface CloseFigures {
  rows: number;
  session_windows: number;
  session_close_ms: number;
  tumbling_windows: number;
  tumbling_close_ms: number;
}

export async function closeMany(
  rows: number,
  keys: number,
  kinds = ["sessions", "tumbling"],
): Promise<Partial<CloseFigures>> {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-bench-close-" });
  const config = parseConfig(yaml(keys), `${dir}/litejoin.yaml`);
  const writer = await Writer.open({
    dataDir: dir,
    shardCount: 4,
    topics: config.topicNames,
    flushIntervalMs: 10,
    batchSize: 10_000,
    maxBacklog: 1_000_000,
    indexes: engineIndexes(config),
  });
  for (let i = 0; i < rows; i += 10_000) {
    await writer.write(Array.from({ length: Math.min(10_000, rows - i) }, (_, j) => {
      const n = i + j;
      return {
        topic: "bids",
        key: `b${n}`,
        payload: { bidder: n % keys, price: (n * 7919) % 10_000, t: T + n * STEP },
        timestamp: T,
      };
    }));
  }
  const readers = await Readers.open(
    { dataDir: dir, shardCount: 4, topics: config.topicNames, busyTimeoutMs: 5000 },
    4,
  );
  const meta = new Meta(`${dir}/meta.db`);
  const figures: Partial<CloseFigures> = { rows };
  try {
    for (const name of kinds) {
      const one = { ...config, windows: config.windows.filter((w) => w.name === name) };
      let delivered = 0;
      const sink = {
        deliver: (results: readonly Result[]) => {
          delivered += results.length;
          return Promise.resolve();
        },
      };
      const clock = new FakeClock(T + rows * STEP);
      const windower = Windower.fromConfig(one, new Map([["out", sink]]), {
        readers,
        writer,
        meta,
        clock,
        timers: clock,
        log: silentLogger,
        metrics: new Metrics(),
      });
      await windower.start();
      await windower.idle();
      const open = windower.health()[0].open;
      const kind = windower.health()[0].type;
      const started = performance.now();
      clock.advance(2 * 3_600_000);
      await windower.idle();
      const ms = Math.round(performance.now() - started);
      await windower.stop();
      // Tumbling windows count as one open span; each window here returns one row.
      if (kind === "session" && delivered !== open) {
        throw new Error(`${name}: ${delivered} results for ${open} windows`);
      }
      if (name === "sessions") {
        figures.session_windows = open;
        figures.session_close_ms = ms;
      } else {
        figures.tumbling_windows = delivered;
        figures.tumbling_close_ms = ms;
      }
    }
    return figures;
  } finally {
    readers.close();
    await writer.close();
    meta.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const rows = Number(Deno.args[0] ?? 100_000);
  const keys = Number(Deno.args[1] ?? 2_000);
  const kinds = Deno.args[2]?.split(",");
  console.log(JSON.stringify(await closeMany(rows, keys, kinds)));
}
