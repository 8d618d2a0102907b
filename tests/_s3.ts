/**
 * A real S3 API for tests: s3rver 3.7.1 under Node, on 127.0.0.1 and a free port, its
 * buckets in a temporary directory. Node, not Deno: s3rver makes ListObjectsV2
 * continuation tokens with DES, which Node's OpenSSL 3 has only with
 * `--openssl-legacy-provider` and Deno's node:crypto not at all. s3rver comes from
 * node_modules (deno.json maps it; `tests/setup.ts` makes sure it is installed).
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { S3ColdStore } from "../engine/tiers/cold.ts";

export interface LocalS3 {
  endpoint: string;
  /** Where s3rver keeps objects: `<directory>/<bucket>/<key>._S3rver_object`. */
  directory: string;
  /** The environment a LiteJoin process needs to reach it. */
  env: Record<string, string>;
  /** A client, and a `tiering.cold` YAML block for `bucket`/`prefix`. */
  client(): S3Client;
  createBucket(bucket: string): Promise<void>;
  coldYaml(bucket: string, prefix: string, extra?: string): string;
  store(bucket: string, prefix: string, partSize?: number): S3ColdStore;
  stop(): Promise<void>;
}

const MAIN = new URL("./s3rver_main.cjs", import.meta.url).pathname;
const CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export async function startS3(): Promise<LocalS3> {
  const directory = await Deno.makeTempDir({ prefix: "litejoin-s3rver-" });
  const child = new Deno.Command("node", {
    args: [
      "--openssl-legacy-provider",
      MAIN,
      "-d",
      directory,
      "-a",
      "127.0.0.1",
      "-p",
      "0",
      "--silent",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let errors = "";
  void child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (s) => void (errors = (errors + s).slice(-4000)) }),
  ).catch(() => {});
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  let endpoint: string | undefined;
  while (!endpoint) {
    const { value, done } = await reader.read();
    if (done) {
      clearTimeout(timer);
      await child.status;
      throw new Error(`s3rver did not start: ${errors || text}`);
    }
    text += value;
    const match = /S3rver listening on ([\d.]+):(\d+)/.exec(text);
    if (match) endpoint = `http://${match[1]}:${match[2]}`;
  }
  clearTimeout(timer);
  void (async () => {
    while (!(await reader.read()).done) { /* keep the pipe drained */ }
  })().catch(() => {});

  const client = () =>
    new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: CREDENTIALS,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  return {
    endpoint,
    directory,
    env: {
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: "us-east-1",
    },
    client,
    async createBucket(bucket) {
      const c = client();
      try {
        await c.send(new CreateBucketCommand({ Bucket: bucket }));
      } finally {
        c.destroy();
      }
    },
    coldYaml: (bucket, prefix, extra = "") =>
      `cold: { url: "s3://${bucket}/${prefix}", endpoint: "${endpoint}", force_path_style: true${
        extra ? `, ${extra}` : ""
      } }`,
    store: (bucket, prefix, partSize = 16 * 1024 * 1024) =>
      new S3ColdStore(client(), `s3://${bucket}/${prefix}`, partSize),
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await Deno.remove(directory, { recursive: true }).catch(() => {});
    },
  };
}
