/** Shared set-up for the tier tests: shards with a writer, meta.db, DuckDB and a compactor. */
import { DatabaseSync } from "node:sqlite";
import { Writer } from "../store/writer.ts";
import { Meta } from "../store/meta.ts";
import { shardPath, TOMBSTONES } from "../store/shard.ts";
import { silentLogger } from "../log.ts";
import type { Message } from "../types.ts";
import { type Duck, openDuck, sqlString } from "./duck.ts";
import { Compactor } from "./compactor.ts";

export const HOUR = 3_600_000;
export const T0 = Date.UTC(2026, 0, 1);

export interface TierBench {
  dir: string;
  warmDir: string;
  writer: Writer;
  meta: Meta;
  duck: Duck;
  compactor(writer?: Writer): Compactor;
  write(messages: Message[]): Promise<void>;
  /** Every stored version as `tier key _seq`, sorted. */
  versions(topic: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function openBench(shardCount = 2, topics = ["orders"]): Promise<TierBench> {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-tiers-" });
  const warmDir = `${dir}/warm`;
  await Deno.mkdir(warmDir);
  const writer = await Writer.open({
    dataDir: dir,
    shardCount,
    topics,
    flushIntervalMs: 1,
    batchSize: 1000,
    maxBacklog: 100_000,
    tombstones: true,
  });
  const meta = new Meta(`${dir}/meta.db`);
  const duck = await openDuck({ threads: 2 });
  return {
    dir,
    warmDir,
    writer,
    meta,
    duck,
    compactor: (w = writer) =>
      new Compactor({
        dataDir: dir,
        shardCount,
        warmDir,
        partition: HOUR,
        busyTimeoutMs: 5000,
        writer: w,
        meta,
        con: duck.con,
        log: silentLogger,
      }),
    write: (messages) => writer.write(messages),
    async versions(topic) {
      const out: string[] = [];
      for (let i = 0; i < shardCount; i++) {
        const db = new DatabaseSync(shardPath(dir, i), { readOnly: true });
        for (const r of db.prepare(`SELECT key, _seq FROM "${topic}"`).all()) {
          out.push(`hot ${r.key} ${r._seq}`);
        }
        for (
          const r of db.prepare(`SELECT key, _seq FROM ${TOMBSTONES} WHERE topic = ?`).all(topic)
        ) out.push(`hot-deleted ${r.key} ${r._seq}`);
        db.close();
      }
      const files = [...Deno.readDirSync(`${warmDir}`)].some((e) => e.name === topic)
        ? [...Deno.readDirSync(`${warmDir}/${topic}`)].filter((e) => e.name.endsWith(".parquet"))
        : [];
      if (files.length) {
        const list = files.map((f) => sqlString(`${warmDir}/${topic}/${f.name}`)).join(", ");
        const rows = (await duck.con.runAndReadAll(
          `SELECT key, _seq, payload IS NULL FROM read_parquet([${list}])`,
        )).getRowsJS();
        for (const [key, seq, deleted] of rows) {
          out.push(`${deleted ? "warm-deleted" : "warm"} ${key} ${Number(seq)}`);
        }
      }
      return out.sort();
    },
    async close() {
      await writer.close();
      meta.close();
      duck.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

export const order = (id: string, timestamp: number, extra: Record<string, unknown> = {}) => ({
  topic: "orders",
  key: id,
  payload: { id, ...extra },
  timestamp,
});

/** The `key _seq` part of versions, for comparing sets across tiers. */
export const ids = (versions: string[]) =>
  versions.map((v) => v.split(" ").slice(1).join(" ")).sort();
