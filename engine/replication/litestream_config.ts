/**
 * The `replication` config section, and the `litestream.yml` (Litestream 0.3.x) that
 * replicates every database of a data directory: each shard, `meta.db` and `dlq.db`,
 * each to its own path under `replica_url` (`…/shard_0`, `…/meta`, `…/dlq`).
 */
import { boolean, type Infer, object, oneOf, string } from "../schema/schema.ts";
import { duration, size } from "../schema/units.ts";
import { shardPath } from "../store/shard.ts";

export const replicationSpec = object({
  enabled: boolean().default(false).describe("Replicate every database with Litestream."),
  mode: oneOf(["sidecar", "embedded"] as const).default("sidecar").describe(
    "sidecar: Litestream runs beside the engine (see examples/run.sh); embedded: the engine runs " +
      "Litestream as its child, watches it and restarts it.",
  ),
  replica_url: string({
    pattern: /^(s3|gcs|abs|sftp|file):\/\/\S+$/,
    hint:
      "must be a replica URL: s3://bucket/prefix, gcs://, abs://, sftp://user@host/path or file:///path",
  }).optional().describe(
    "Where replicas go: s3://bucket/prefix, gcs://…, abs://…, sftp://user@host/path or " +
      "file:///path. Each database replicates to its own path below it (…/shard_0, …/meta, …/dlq).",
    "s3://my-bucket/litejoin",
  ),
  endpoint: string().optional().describe(
    "S3-compatible endpoint (MinIO, R2, GCS interoperability, a test server).",
    "http://127.0.0.1:9000",
  ),
  region: string().optional().describe("S3 region (looked up from the bucket when unset)."),
  force_path_style: boolean().optional().describe(
    "Path-style S3 URLs (default true when endpoint is set).",
  ),
  sync_interval: duration().default(1000).describe(
    "How often WAL frames are shipped: at most this much committed data is lost with the machine.",
  ),
  restore_on_boot: boolean().default(true).describe(
    "embedded: restore each missing database from the replica before opening it.",
  ),
  snapshot_interval: duration().default(3_600_000).describe(
    "How often full snapshots are written.",
  ),
  retention: duration().default(72 * 3_600_000).describe("How long replica history is kept."),
  litestream_bin: string().optional().describe(
    "Litestream binary. Default: `litestream` on PATH, else the one deno install put in " +
      "node_modules (npm @flydotio/litestream-linux-x64, Linux x64 only).",
  ),
  wal_max: size().default(256 * 1024 * 1024).describe(
    "With replication on, Litestream checkpoints the WAL; if a WAL still grows past this (Litestream not running?), " +
      "the engine checkpoints it itself and warns.",
  ),
});

export type ReplicationConfig = Infer<typeof replicationSpec>;

/** Each database of a data directory that is replicated, with the name of its replica path. */
export function replicatedDatabases(
  dataDir: string,
  shardCount: number,
): { name: string; path: string }[] {
  return [
    ...Array.from(
      { length: shardCount },
      (_, i) => ({ name: `shard_${i}`, path: shardPath(dataDir, i) }),
    ),
    { name: "meta", path: `${dataDir}/meta.db` },
    { name: "dlq", path: `${dataDir}/dlq.db` },
  ];
}

/** Go's duration syntax, which Litestream reads. */
const goDuration = (ms: number) => `${Math.round(ms)}ms`;

/** A YAML scalar: JSON strings are valid YAML. */
const q = (s: string) => JSON.stringify(s);

/**
 * The replica entry for one database. S3 URLs are spelled out as bucket and path so
 * that `endpoint` and path style apply; other schemes are passed as `url`.
 */
function replicaLines(r: ReplicationConfig, name: string): string[] {
  const base = r.replica_url!.replace(/\/+$/, "");
  const url = new URL(base);
  const lines: string[] = [];
  if (url.protocol === "file:") {
    lines.push(`type: file`, `path: ${q(`${decodeURIComponent(url.pathname)}/${name}`)}`);
  } else if (url.protocol === "s3:") {
    const prefix = url.pathname.replace(/^\/+/, "");
    lines.push(
      `type: s3`,
      `bucket: ${q(url.hostname)}`,
      `path: ${q(prefix ? `${prefix}/${name}` : name)}`,
    );
    if (r.endpoint) lines.push(`endpoint: ${q(r.endpoint)}`);
    if (r.region) lines.push(`region: ${q(r.region)}`);
    if (r.force_path_style !== undefined || r.endpoint) {
      lines.push(`force-path-style: ${r.force_path_style ?? true}`);
    }
  } else {
    lines.push(`url: ${q(`${base}/${name}`)}`);
  }
  lines.push(
    `sync-interval: ${goDuration(r.sync_interval)}`,
    `snapshot-interval: ${goDuration(r.snapshot_interval)}`,
    `retention: ${goDuration(r.retention)}`,
  );
  return lines;
}

/**
 * `litestream.yml` for every database of the data directory. Credentials are not
 * written: Litestream reads `LITESTREAM_ACCESS_KEY_ID`/`LITESTREAM_SECRET_ACCESS_KEY`
 * or the usual AWS variables from its environment.
 */
export function litestreamYaml(
  r: ReplicationConfig,
  dataDir: string,
  shardCount: number,
  opts: { exec?: string } = {},
): string {
  if (!r.replica_url) throw new RangeError("replication.replica_url is not set");
  const out = [
    "# Generated by `litejoin replication config`: one entry per database of the data directory.",
    "# A changed shard_count needs a new file (and see `litejoin reshard`).",
  ];
  if (opts.exec) out.push(`exec: ${q(opts.exec)}`);
  out.push("dbs:");
  for (const db of replicatedDatabases(dataDir, shardCount)) {
    // Litestream looks for new WAL frames every monitor-interval (default 1s) whatever
    // the sync interval, so both follow sync_interval.
    out.push(
      `  - path: ${q(db.path)}`,
      `    monitor-interval: ${goDuration(r.sync_interval)}`,
      "    replicas:",
    );
    const [first, ...rest] = replicaLines(r, db.name);
    out.push(`      - ${first}`, ...rest.map((l) => `        ${l}`));
  }
  return out.join("\n") + "\n";
}
