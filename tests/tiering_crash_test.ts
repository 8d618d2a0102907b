/**
 * Crash safety of tiering, for real: `litejoin run` kills itself with SIGKILL at a named
 * point of a compaction or an upload (LITEJOIN_CRASH_AT), is started again, and every
 * acknowledged row must then be stored exactly once, in exactly one tier.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { parseConfig } from "../engine/mod.ts";
import { queryTiers } from "../engine/tiers/query.ts";
import { CLI, topicKeys, waitFor } from "./_helpers.ts";
import { spawnEngine } from "./_process.ts";
import { type LocalS3, startS3 } from "./_s3.ts";

const BUCKET = "lj-crash";

function config(s3: LocalS3, prefix: string): string {
  return `
http: { listen: "127.0.0.1:0" }
engine: { data_dir: ./data, shard_count: 2, retention: 1s, retention_interval: 250ms }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
tiering:
  enabled: true
  partition: 5s
  warm_retention: 1s
  ${s3.coldYaml(BUCKET, prefix, "part_size: 5MiB")}
`;
}

/** Every stored version of `events` across the tiers, as `key _seq`, with its tier. */
async function stored(dir: string, yaml: string) {
  const answer = await queryTiers("SELECT _tier, key, _seq FROM events", {
    config: parseConfig(yaml, `${dir}/litejoin.yaml`),
    tier: "all",
    history: true,
  });
  const keys = answer.rows.map(([, key]) => String(key));
  const tiers: Record<string, number> = {};
  for (const [tier] of answer.rows) tiers[String(tier)] = (tiers[String(tier)] ?? 0) + 1;
  return { keys, versions: new Set(answer.rows.map(([, k, s]) => `${k} ${s}`)).size, tiers };
}

async function postAll(url: string, rows: number, big: boolean): Promise<Set<string>> {
  const acked = new Set<string>();
  const noise = (i: number) =>
    ["a", "b", "c"].map((s) => createHash("sha512").update(`${s}${i}`).digest("base64")).join("");
  for (let start = 0; start < rows; start += 1000) {
    const batch = Array.from(
      { length: Math.min(1000, rows - start) },
      (_, j) => ({
        id: `e${start + j}`,
        n: start + j,
        ...(big ? { noise: noise(start + j) } : {}),
      }),
    );
    const response = await fetch(`${url}/in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(batch),
    });
    await response.body?.cancel();
    assert.equal(response.status, 202);
    for (const row of batch) acked.add(row.id);
  }
  return acked;
}

/** What the data directory shows right after a crash at each point. */
const TORN: Record<string, (state: Torn) => void> = {
  "compact.journaled": (s) => {
    assert.equal(s.journal, 1);
    assert.deepEqual([s.parquet, s.ndjson], [0, 0]);
  },
  "compact.exported": (s) => {
    assert.equal(s.journal, 1);
    assert.deepEqual([s.parquet, s.ndjson], [0, 1]);
  },
  "compact.written": (s) => {
    assert.equal(s.journal, 1);
    assert.equal(s.parquet, 1);
    assert.equal(s.tiers.hot, s.acked, "nothing deleted from the shards yet");
  },
  "compact.evicting": (s) => {
    assert.equal(s.journal, 1, "the compaction had not finished");
    assert.equal(s.parquet, 1);
    assert.ok((s.tiers.hot ?? 0) < s.acked, "some rows already deleted from the shards");
  },
  "upload.part": (s) => {
    // a smaller file of another partition may have gone cold in one PUT before
    assert.ok(s.biggest > 5 * 1024 * 1024, "the file being sent in parts is still warm");
    assert.ok((s.tiers.cold ?? 0) < s.acked);
  },
  "upload.put": (s) => {
    assert.ok(s.tiers.cold > 0 && s.tiers.cold <= s.acked, "the object is there");
    assert.equal(s.tiers.warm, s.acked, "the local copy stays until verified");
    assert.equal(s.catalog, 0);
  },
  "upload.cataloged": (s) => {
    assert.ok(s.tiers.cold > 0 && s.tiers.cold <= s.acked, "the object is there");
    assert.equal(s.tiers.warm, s.acked);
    assert.equal(s.catalog, 1);
  },
};

interface Torn {
  acked: number;
  tiers: Record<string, number>;
  journal: number;
  catalog: number;
  parquet: number;
  ndjson: number;
  biggest: number;
}

function tornState(dir: string, acked: number, tiers: Record<string, number>): Torn {
  const meta = new DatabaseSync(`${dir}/data/meta.db`, { readOnly: true });
  const count = (scope: string) =>
    Number(meta.prepare("SELECT count(*) AS n FROM state WHERE scope = ?").get(scope)!.n);
  const journal = count("tiering.compact");
  const catalog = count("tiering.cold");
  meta.close();
  const files = [...Deno.readDirSync(`${dir}/data/warm/events`)];
  const parquet = files.filter((e) => e.name.endsWith(".parquet"));
  return {
    acked,
    tiers,
    journal,
    catalog,
    parquet: parquet.length,
    ndjson: files.filter((e) => e.name.endsWith(".ndjson.tmp")).length,
    biggest: Math.max(
      0,
      ...parquet.map((e) => Deno.statSync(`${dir}/data/warm/events/${e.name}`).size),
    ),
  };
}

async function crashAt(s3: LocalS3, point: string, rows: number, big = false) {
  const dir = await Deno.makeTempDir({ prefix: `litejoin-crash-${point}-` });
  const yaml = config(s3, point);
  // Fill: the rows are acknowledged while they cannot expire yet.
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, yaml.replace("retention: 1s", "retention: 1h"));
  const filler = await spawnEngine(dir, s3.env);
  const acked = await postAll(filler.url, rows, big);
  filler.child.kill("SIGTERM");
  assert.equal((await filler.exited).code, 0, filler.log());

  // Crash: with a 1s retention the rows move as soon as their 5s partition is over.
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, yaml);
  // (It may die before it even listens: tiering runs as soon as the engine starts.)
  const doomed = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "run", "-c", `${dir}/litejoin.yaml`],
    env: { ...s3.env, LITEJOIN_CRASH_AT: point },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => doomed.kill("SIGTERM"), 60_000);
  const { signal, stderr } = await doomed.output();
  clearTimeout(timer);
  assert.equal(signal, "SIGKILL", `no crash at ${point}: ${new TextDecoder().decode(stderr)}`);

  // Killed mid-way: a row may be in two tiers until recovery runs, but never in none.
  const torn = await stored(dir, yaml);
  assert.deepEqual([...acked].filter((k) => !torn.keys.includes(k)), [], `lost at ${point}`);
  TORN[point](tornState(dir, acked.size, torn.tiers));

  const restarted = await spawnEngine(dir, s3.env);
  try {
    await waitFor(`every row of the ${point} run to go cold`, () => {
      const warm = [...Deno.readDirSync(`${dir}/data/warm/events`)].filter((e) =>
        e.name.endsWith(".parquet")
      );
      return topicKeys(`${dir}/data`, "events", 2).size === 0 && warm.length === 0;
    }, 60_000);
  } finally {
    restarted.child.kill("SIGTERM");
    assert.equal((await restarted.exited).code, 0, restarted.log());
  }
  const after = await stored(dir, yaml);
  assert.deepEqual(after.tiers, { cold: acked.size }, `tiers after the ${point} crash`);
  assert.equal(after.versions, acked.size, "no version stored twice");
  assert.deepEqual(new Set(after.keys), acked, "no row lost");
  console.log(
    `crash at ${point}: ${JSON.stringify(torn.tiers)} at the crash, ${
      JSON.stringify(after.tiers)
    } after recovery`,
  );
  await Deno.remove(dir, { recursive: true });
}

Deno.test("SIGKILL at any step of compaction or upload loses no row and stores none twice", async (t) => {
  const s3 = await startS3();
  await s3.createBucket(BUCKET);
  for (const [name, value] of Object.entries(s3.env)) Deno.env.set(name, value);
  try {
    for (
      const point of [
        "compact.journaled",
        "compact.exported",
        "compact.written",
        "compact.evicting",
        "upload.put",
        "upload.cataloged",
      ]
    ) {
      await t.step(`killed at ${point}`, () => crashAt(s3, point, 3000));
    }
    await t.step("killed mid multipart upload", () => crashAt(s3, "upload.part", 60_000, true));
  } finally {
    await s3.stop();
  }
});
