/**
 * The `tiering` section of `litejoin.yaml`: where expired rows go instead of vanishing.
 * Hot rows live in the shards; rows past their topic's retention are compacted into
 * Parquet files in `warm_dir`; files past `warm_retention` are uploaded to `cold.url`.
 */
import { isAbsolute, join } from "node:path";
import { boolean, type Infer, object, string } from "../schema/schema.ts";
import { duration, size } from "../schema/units.ts";
import type { EngineConfig } from "../store/spec.ts";

const MIB = 1024 * 1024;

/** `s3://bucket` or `s3://bucket/prefix`, bucket named by S3's rules. */
export const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;

export const coldSpec = object({
  url: string({
    pattern: S3_URL,
    hint: "must be s3://bucket/prefix (bucket: 3-63 lower-case letters, digits, . and -)",
  }).describe(
    "Bucket and key prefix of the cold tier: objects are <prefix>/<topic>/<file>. The bucket must exist.",
    "s3://litejoin-archive/prod",
  ),
  endpoint: string({
    pattern: /^https?:\/\/[^\s/]+/,
    hint: "must be an http:// or https:// URL, e.g. https://storage.googleapis.com",
  }).optional().describe(
    "S3-compatible endpoint (MinIO, GCS, R2, ...); unset for AWS S3.",
    "https://storage.googleapis.com",
  ),
  region: string().optional().describe(
    "Region to sign requests for; default $AWS_REGION, else us-east-1.",
  ),
  force_path_style: boolean().default(false).describe(
    "Address buckets as endpoint/bucket instead of bucket.endpoint (MinIO, s3rver need it).",
  ),
  part_size: size().default(16 * MIB).check((v) =>
    v < 5 * MIB ? "must be at least 5MiB (S3's smallest multipart part)" : undefined
  ).describe("Files larger than this are uploaded in parts of this size (at least 5MiB)."),
});

export const tieringSpec = object({
  enabled: boolean().default(false).describe(
    "Compact expired rows to the warm tier (instead of deleting them) and upload warm files to the " +
      "cold tier. Runs every engine.retention_interval.",
  ),
  warm_dir: string().optional().describe(
    "Directory of the warm Parquet files, one subdirectory per topic; default <data_dir>/warm.",
  ),
  warm_retention: duration().default(7 * 86_400_000).describe(
    "How long a file stays warm after its rows left the hot tier, before it is uploaded. 0 uploads " +
      "right after compaction. Without cold, files stay warm.",
  ),
  partition: duration().default(3_600_000).check((v) =>
    v < 1000 ? "must be at least 1s" : undefined
  ).describe(
    "Time span of one Parquet file (aligned to UTC). Rows leave the hot tier once their whole " +
      "partition is older than the topic's retention: up to one partition late.",
  ),
  cache_dir: string().optional().describe(
    "Where `litejoin query` keeps files fetched from the cold tier; default <data_dir>/cold_cache. " +
      "Safe to delete.",
  ),
  cold: coldSpec.optional().describe(
    "Object storage for files past warm_retention; without it, warm files are kept.",
  ),
});

export type TieringConfig = Infer<typeof tieringSpec>;
export type ColdConfig = Infer<typeof coldSpec>;

/** What the tiers read of the config: the shards, the topics, `tiering` and its directories. */
export interface TierSettings {
  /** The config file, named in errors. */
  file: string;
  engine: Pick<EngineConfig, "data_dir" | "shard_count" | "busy_timeout">;
  topicNames: string[];
  tiering: TieringConfig;
  tierPaths: TierPaths;
}

/** The directories of the tiers, absolute. */
export interface TierPaths {
  warmDir: string;
  cacheDir: string;
}

/** `warm_dir` and `cache_dir` resolved against the config file's directory (`base`). */
export function tierPaths(tiering: TieringConfig, base: string, dataDir: string): TierPaths {
  const resolve = (p: string | undefined, fallback: string) =>
    p === undefined ? fallback : isAbsolute(p) ? p : join(base, p);
  return {
    warmDir: resolve(tiering.warm_dir, join(dataDir, "warm")),
    cacheDir: resolve(tiering.cache_dir, join(dataDir, "cold_cache")),
  };
}

/** Bucket and key prefix (without a trailing slash) of an `s3://` URL. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = S3_URL.exec(url);
  if (!match) throw new TypeError(`${url} is not an s3://bucket/prefix URL`);
  return { bucket: match[1], prefix: (match[2] ?? "").replace(/\/+$/, "") };
}
