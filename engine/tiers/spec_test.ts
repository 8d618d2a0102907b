import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../config/load.ts";
import { parseS3Url } from "./spec.ts";

const problems = (text: string): string[] => {
  try {
    parseConfig(text, "litejoin.yaml");
  } catch (error) {
    if (error instanceof ConfigError) return error.lines;
    throw error;
  }
  assert.fail("expected a ConfigError");
};

Deno.test("tiering is off by default, with a warm directory in the data directory", () => {
  const config = parseConfig("engine: { data_dir: /srv/lj }\n", "/etc/lj/litejoin.yaml");
  assert.equal(config.tiering.enabled, false);
  assert.equal(config.tiering.warm_retention, 7 * 86_400_000);
  assert.equal(config.tiering.partition, 3_600_000);
  assert.equal(config.tiering.cold, undefined);
  assert.deepEqual(config.tierPaths, { warmDir: "/srv/lj/warm", cacheDir: "/srv/lj/cold_cache" });
});

Deno.test("tiering reads its cold tier and resolves paths against the config file", () => {
  const config = parseConfig(
    `tiering:
  enabled: true
  warm_dir: ./warm
  warm_retention: 2d
  cold:
    url: s3://archive-bucket/prod/litejoin/
    endpoint: https://storage.googleapis.com
    region: auto
    part_size: 64MiB
`,
    "/etc/lj/litejoin.yaml",
  );
  assert.equal(config.tierPaths.warmDir, "/etc/lj/warm");
  assert.deepEqual(config.tiering.cold, {
    url: "s3://archive-bucket/prod/litejoin/",
    endpoint: "https://storage.googleapis.com",
    region: "auto",
    force_path_style: false,
    part_size: 64 * 1024 * 1024,
  });
  assert.deepEqual(parseS3Url(config.tiering.cold!.url), {
    bucket: "archive-bucket",
    prefix: "prod/litejoin",
  });
});

Deno.test("tiering mistakes are reported with their position", () => {
  assert.deepEqual(
    problems(`tiering:
  enabled: yes please
  partition: 10ms
  cold: { url: "s3://B/x", endpoint: "storage.googleapis.com", part_size: 1MiB, regoin: eu }
`),
    [
      'litejoin.yaml:2:12: tiering.enabled: expected true or false, found "yes please"',
      "litejoin.yaml:3:14: tiering.partition: must be at least 1s",
      'litejoin.yaml:4:16: tiering.cold.url: "s3://B/x" must be s3://bucket/prefix (bucket: 3-63 lower-case letters, digits, . and -)',
      'litejoin.yaml:4:38: tiering.cold.endpoint: "storage.googleapis.com" must be an http:// or https:// URL, e.g. https://storage.googleapis.com',
      "litejoin.yaml:4:75: tiering.cold.part_size: must be at least 5MiB (S3's smallest multipart part)",
      'litejoin.yaml:4:81: tiering.cold.regoin: unknown field (did you mean "region"?)',
    ],
  );
});
