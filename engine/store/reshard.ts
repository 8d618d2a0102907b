/**
 * Offline rewrite of a data directory into another shard count. Every row keeps its
 * key, payload, timestamp and `_change`; rows go to the shard FNV picks for the new
 * count. Join progress is carried over: rows that every join had already evaluated
 * are written first and recorded as evaluated, the rest stay pending, so no join
 * repeats settled work or skips unsettled work.
 *
 * The new shards are built beside the old ones and verified (row counts per topic)
 * before anything is moved. A marker file records the switch; an interrupted run is
 * finished by running it again, and the engine refuses to start until it is.
 */
import { DatabaseSync } from "node:sqlite";
import { basename, join } from "node:path";
import { shardOf } from "./fnv.ts";
import { LayoutError, Meta } from "./meta.ts";
import { type Row, Shard, shardPath, TOMBSTONES } from "./shard.ts";
import { crashPoint } from "../crash_point.ts";

export const RESHARD_MARKER = "RESHARD_IN_PROGRESS";

export interface ReshardPlan {
  from: number;
  to: number;
  /** Where the new shards are built. */
  staging: string;
  /** Where the old shards are moved. */
  backup: string;
}

export interface ReshardReport extends ReshardPlan {
  /** Rows per topic, the same before and after. */
  rows: Record<string, number>;
  /** Per new shard, the seq up to which every join had already evaluated the rows. */
  settledInNew: number[];
}

const BATCH = 5000;
const INTERNAL = /^(sqlite_|_litejoin|_litestream)/;

/** Topic tables of a shard file: every table but SQLite's, ours and Litestream's. */
function topicTables(db: DatabaseSync): string[] {
  return db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all()
    .map((r) => String(r.name))
    .filter((name) => !INTERNAL.test(name));
}

/**
 * Per old shard, the seq up to which every join has evaluated and delivered; rows
 * above it are still pending for at least one join.
 */
function settledSeqs(meta: Meta, from: number): { joins: string[]; settled: number[] } {
  const joins = meta.db.prepare("SELECT DISTINCT scope FROM state WHERE scope LIKE 'join:%'").all()
    .map((r) => String(r.scope));
  const settled = Array.from(
    { length: from },
    (_, i) =>
      joins.length === 0
        ? Infinity
        : Math.min(...joins.map((scope) => Number(meta.get(scope, `shard_${i}`) ?? 0))),
  );
  return { joins, settled };
}

/**
 * Rewrites `dataDir` from its current shard count to `to`. The caller holds the data
 * directory's lock (no engine may run). `progress` is told rows copied so far.
 */
export function reshard(
  dataDir: string,
  to: number,
  progress: (done: number, total: number) => void = () => {},
): ReshardReport | undefined {
  const meta = new Meta(`${dataDir}/meta.db`);
  try {
    const from = Number(meta.get("layout", "shard_count"));
    if (!from) throw new Error(`${dataDir} holds no LiteJoin data (no layout in meta.db)`);
    const markerPath = join(dataDir, RESHARD_MARKER);
    const pending = readMarker(markerPath);
    if (pending) return finish(dataDir, meta, pending, markerPath);
    if (from === to) return undefined;

    const plan: ReshardPlan = {
      from,
      to,
      staging: join(dataDir, `.reshard-${to}`),
      backup: join(dataDir, `.pre-reshard-${from}-${Date.now()}`),
    };
    removeIfPresent(plan.staging);
    return build(dataDir, meta, plan, markerPath, progress);
  } finally {
    meta.close();
  }
}

function build(
  dataDir: string,
  meta: Meta,
  plan: ReshardPlan,
  markerPath: string,
  progress: (done: number, total: number) => void,
): ReshardReport {
  // Opened read-write so that a WAL left by a crash is recovered; nothing writes them.
  const old = Array.from({ length: plan.from }, (_, i) => new DatabaseSync(shardPath(dataDir, i)));
  try {
    const topics = [...new Set(old.flatMap(topicTables))].sort();
    const total = old.reduce(
      (n, db) =>
        n +
        topics.reduce(
          (m, t) => m + Number(db.prepare(`SELECT count(*) AS n FROM "${t}"`).get()!.n),
          0,
        ),
      0,
    );
    Deno.mkdirSync(plan.staging, { recursive: true });
    const fresh = Array.from(
      { length: plan.to },
      (_, i) => new Shard(i, shardPath(plan.staging, i), topics),
    );
    const { settled } = settledSeqs(meta, plan.from);
    let done = 0;
    const copy = (pendingPhase: boolean) => {
      const queues: Row[][] = fresh.map(() => []);
      const flush = (i: number) => {
        if (queues[i].length) fresh[i].apply(queues[i].splice(0));
      };
      old.forEach((db, shard) => {
        for (const topic of topics) {
          const rows = db.prepare(
            `SELECT key, payload, timestamp, _change FROM "${topic}" WHERE _seq ${
              pendingPhase ? ">" : "<="
            } ?
             ORDER BY _seq`,
          ).iterate(settled[shard] === Infinity ? Number.MAX_SAFE_INTEGER : settled[shard]);
          for (const r of rows) {
            const key = String(r.key);
            const target = shardOf(key, plan.to);
            queues[target].push([
              topic,
              key,
              String(r.payload),
              Number(r.timestamp),
              r._change as string | null,
            ]);
            if (queues[target].length >= BATCH) flush(target);
            if (++done % BATCH === 0) progress(done, total);
          }
        }
      });
      fresh.forEach((_, i) => flush(i));
    };
    copy(false);
    const settledInNew = fresh.map((s) => s.seq);
    copy(true);
    // Tombstones (kept with tiering on) move with their keys, after the rows.
    const tombstones: { topic: string; key: string; timestamp: number }[][] = fresh.map(() => []);
    for (const db of old) {
      if (!db.prepare("SELECT 1 FROM sqlite_schema WHERE name = ?").get(TOMBSTONES)) continue;
      const rows = db.prepare(`SELECT topic, key, timestamp FROM ${TOMBSTONES} ORDER BY _seq`);
      for (const r of rows.iterate()) {
        const key = String(r.key);
        tombstones[shardOf(key, plan.to)].push({
          topic: String(r.topic),
          key,
          timestamp: Number(r.timestamp),
        });
      }
    }
    tombstones.forEach((list, i) => list.length && fresh[i].carryTombstones(list));
    progress(done, total);

    const rows: Record<string, number> = {};
    for (const topic of topics) {
      const before = old.reduce(
        (n, db) => n + Number(db.prepare(`SELECT count(*) AS n FROM "${topic}"`).get()!.n),
        0,
      );
      const after = fresh.reduce(
        (n, s) => n + Number(s.db.prepare(`SELECT count(*) AS n FROM "${topic}"`).get()!.n),
        0,
      );
      if (before !== after) {
        throw new Error(
          `topic ${topic}: ${before} rows before, ${after} after; the data directory is unchanged`,
        );
      }
      rows[topic] = after;
    }
    for (const s of fresh) {
      s.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      s.close();
    }
    for (const db of old) db.close();
    const report: ReshardReport = { ...plan, rows, settledInNew };
    Deno.writeTextFileSync(markerPath, JSON.stringify(report));
    return finish(dataDir, meta, report, markerPath);
  } finally {
    for (const db of old) if (db.isOpen) db.close();
  }
}

/**
 * Moves old shards out and new ones in, then records the new layout. Each file moves
 * only if its destination is still free, so a run interrupted anywhere here is
 * finished by running it again.
 */
function finish(
  dataDir: string,
  meta: Meta,
  report: ReshardReport,
  markerPath: string,
): ReshardReport {
  Deno.mkdirSync(report.backup, { recursive: true });
  for (let i = 0; i < report.from; i++) moveDatabase(shardPath(dataDir, i), report.backup);
  crashPoint("reshard:old-moved");
  for (let i = 0; i < report.to; i++) moveDatabase(shardPath(report.staging, i), dataDir);
  meta.transaction(() => {
    meta.set("layout", "shard_count", String(report.to));
    const joins = meta.db.prepare("SELECT DISTINCT scope FROM state WHERE scope LIKE 'join:%'")
      .all()
      .map((r) => String(r.scope));
    for (const scope of joins) {
      for (const [key] of meta.entries(scope)) {
        if (key.startsWith("shard_")) meta.delete(scope, key);
      }
      report.settledInNew.forEach((seq, i) => meta.set(scope, `shard_${i}`, String(seq)));
    }
  });
  removeIfPresent(report.staging);
  Deno.removeSync(markerPath);
  return report;
}

/**
 * Moves a database file with its WAL, shared memory and Litestream shadow state. The
 * companions go first and the database last, so a database present at the destination
 * means all of it arrived; then nothing is moved (the source name may already hold
 * another database).
 */
function moveDatabase(path: string, intoDir: string): void {
  const name = basename(path);
  if (exists(join(intoDir, name))) return;
  const dir = path.slice(0, path.length - name.length);
  for (const part of [`${path}-wal`, `${path}-shm`, `${dir}.${name}-litestream`, path]) {
    if (!exists(part)) continue; // absent, or moved by an interrupted run
    const target = join(intoDir, basename(part));
    // A file is renamed over its target; a directory cannot be, so clear it first.
    if (Deno.statSync(part).isDirectory) removeIfPresent(target);
    Deno.renameSync(part, target);
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function removeIfPresent(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function readMarker(path: string): ReshardReport | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Refuses to open a data directory whose reshard was interrupted (finish it first). */
export async function refuseInterruptedReshard(dataDir: string, file: string): Promise<void> {
  try {
    const plan = JSON.parse(await Deno.readTextFile(`${dataDir}/${RESHARD_MARKER}`));
    throw new LayoutError(
      `a reshard of ${dataDir} from ${plan.from} to ${plan.to} shards was interrupted; ` +
        `finish it with litejoin reshard --to ${plan.to} -c ${file}`,
    );
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
