/**
 * The cold tier: tier files in object storage, under `<prefix>/<topic>/<file>`, through
 * the S3 API (AWS S3 or any S3-compatible store: `endpoint` and path-style addressing).
 *
 * ETags are not a checksum we can compare across stores (a multipart ETag on AWS is
 * `md5-of-part-md5s-N`, s3rver's is the whole-file md5), so every object carries our
 * own `sha256` and row count as user metadata, and an upload is verified by reading
 * back its size and sha256.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { dirname } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { type ColdConfig, parseS3Url } from "./spec.ts";
import { fsync } from "./duck.ts";

/** What the store says about one object. */
export interface ObjectInfo {
  size: number;
  /** Our checksum, from the object's metadata (absent if the store dropped it). */
  sha256?: string;
  rows?: number;
}

/** What we know about a local file before it goes cold. */
export interface LocalFile {
  size: number;
  sha256: string;
  md5: string;
  rows: number;
}

/**
 * Object storage for tier files. Paths are `<topic>/<file>`, relative to the store's
 * prefix. Every method may be retried: `put` of the same file twice leaves one object.
 */
export interface ColdStore {
  /** `s3://bucket/prefix`, for messages. */
  readonly url: string;
  /** The object's size and metadata, or undefined if there is none. */
  head(path: string): Promise<ObjectInfo | undefined>;
  /**
   * Uploads `file` as `path`, in parts when larger than the part size; `onPart` is
   * called as each part (or the single PUT) completes. Resolves when the store has
   * accepted the object; the caller verifies it with `head`.
   */
  put(
    path: string,
    file: string,
    info: LocalFile,
    onPart?: (bytes: number, multipart: boolean) => void,
  ): Promise<void>;
  /** Every object under `<dir>/`, with its size. */
  list(dir: string): Promise<{ path: string; size: number }[]>;
  /** Downloads `path` to `to`, through a temporary file, checking its size. */
  get(path: string, to: string, size: number): Promise<void>;
  close(): void;
}

/** The size, sha256 and md5 of a file, read once. */
export async function describeFile(path: string, rows: number): Promise<LocalFile> {
  const sha256 = createHash("sha256");
  const md5 = createHash("md5");
  let size = 0;
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) { // closes the file when done
    sha256.update(chunk);
    md5.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: sha256.digest("hex"), md5: md5.digest("hex"), rows };
}

/** Why a stored object is not the local file, or undefined when it is. */
export function mismatch(local: LocalFile, remote: ObjectInfo | undefined): string | undefined {
  if (!remote) return "the object is missing";
  if (remote.size !== local.size) return `size ${remote.size}, expected ${local.size}`;
  if (remote.sha256 !== undefined && remote.sha256 !== local.sha256) {
    return `sha256 ${remote.sha256}, expected ${local.sha256}`;
  }
  return undefined;
}

/** A cold-tier failure, as one line naming the store and what was being done. */
export class ColdError extends Error {
  constructor(url: string, action: string, cause: unknown) {
    super(`${url}: ${action}: ${describeS3Error(cause)}`, { cause });
    this.name = "ColdError";
  }
}

function describeS3Error(error: unknown): string {
  const e = error as { name?: string; message?: string; code?: string; Code?: string };
  const name = e.Code ?? e.name ?? "Error";
  const message = String(e.message ?? error).split("\n")[0];
  if (name === "NoSuchBucket") return `${message} (create the bucket first)`;
  if (e.code === "ECONNREFUSED") return `connection refused (${message}); is the endpoint up?`;
  if (name === "CredentialsProviderError") {
    return `${message} (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`;
  }
  return name === "Error" || message.startsWith(name) ? message : `${name}: ${message}`;
}

/** An S3 client from the `cold` config; credentials from the usual AWS environment variables. */
export async function openS3(cold: ColdConfig): Promise<S3ColdStore> {
  const { S3Client } = await import("@aws-sdk/client-s3");
  const client = new S3Client({
    endpoint: cold.endpoint,
    region: cold.region ?? Deno.env.get("AWS_REGION") ?? Deno.env.get("AWS_DEFAULT_REGION") ??
      "us-east-1",
    forcePathStyle: cold.force_path_style,
    // The default (since client-s3 3.729) sends streamed bodies aws-chunked with a
    // trailing checksum, which several S3-compatible stores store verbatim.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 3,
  });
  return new S3ColdStore(client, cold.url, cold.part_size);
}

export class S3ColdStore implements ColdStore {
  readonly bucket: string;
  readonly prefix: string;

  constructor(readonly client: S3Client, readonly url: string, readonly partSize: number) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Url(url));
  }

  #key(path: string): string {
    return this.prefix ? `${this.prefix}/${path}` : path;
  }

  async head(path: string): Promise<ObjectInfo | undefined> {
    const { HeadObjectCommand } = await import("@aws-sdk/client-s3");
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.#key(path) }),
      );
      const rows = head.Metadata?.rows;
      return {
        size: head.ContentLength ?? -1,
        sha256: head.Metadata?.sha256,
        rows: rows === undefined ? undefined : Number(rows),
      };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata
        ?.httpStatusCode;
      if ((error as Error).name === "NotFound" || status === 404) return undefined;
      throw new ColdError(this.url, `head ${path}`, error);
    }
  }

  async put(
    path: string,
    file: string,
    info: LocalFile,
    onPart?: (bytes: number, multipart: boolean) => void,
  ): Promise<void> {
    const { PutObjectCommand } = await import("@aws-sdk/client-s3");
    const metadata = { sha256: info.sha256, rows: String(info.rows) };
    try {
      if (info.size <= this.partSize) {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.#key(path),
            Body: createReadStream(file),
            ContentLength: info.size,
            ContentMD5: btoa(String.fromCharCode(...hexBytes(info.md5))),
            ContentType: "application/vnd.apache.parquet",
            Metadata: metadata,
          }),
        );
        onPart?.(info.size, false);
        return;
      }
      const { Upload } = await import("@aws-sdk/lib-storage");
      const upload = new Upload({
        client: this.client,
        params: {
          Bucket: this.bucket,
          Key: this.#key(path),
          Body: createReadStream(file),
          ContentType: "application/vnd.apache.parquet",
          Metadata: metadata,
        },
        partSize: this.partSize,
        queueSize: 2,
        leavePartsOnError: false,
      });
      let sent = 0;
      upload.on("httpUploadProgress", (progress) => {
        const loaded = progress.loaded ?? sent;
        onPart?.(loaded - sent, true);
        sent = loaded;
      });
      await upload.done();
    } catch (error) {
      throw new ColdError(this.url, `upload ${path}`, error);
    }
  }

  async list(dir: string): Promise<{ path: string; size: number }[]> {
    const { paginateListObjectsV2 } = await import("@aws-sdk/client-s3");
    const out: { path: string; size: number }[] = [];
    const start = this.prefix ? this.prefix.length + 1 : 0;
    try {
      for await (
        const page of paginateListObjectsV2({ client: this.client, pageSize: 1000 }, {
          Bucket: this.bucket,
          Prefix: this.#key(`${dir}/`),
        })
      ) {
        for (const object of page.Contents ?? []) {
          if (object.Key) out.push({ path: object.Key.slice(start), size: object.Size ?? 0 });
        }
      }
    } catch (error) {
      throw new ColdError(this.url, `list ${dir}/`, error);
    }
    return out;
  }

  async get(path: string, to: string, size: number): Promise<void> {
    const { GetObjectCommand } = await import("@aws-sdk/client-s3");
    const tmp = `${to}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    await Deno.mkdir(dirname(to), { recursive: true });
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(path) }),
      );
      await pipeline(object.Body as NodeJS.ReadableStream, createWriteStream(tmp));
      const got = (await Deno.stat(tmp)).size;
      if (got !== size) throw new Error(`got ${got} bytes, the listing said ${size}`);
      await fsync(tmp);
      await Deno.rename(tmp, to);
    } catch (error) {
      await Deno.remove(tmp).catch(() => {});
      throw new ColdError(this.url, `download ${path}`, error);
    }
  }

  close(): void {
    this.client.destroy();
  }
}

function hexBytes(hex: string): number[] {
  return Array.from(
    { length: hex.length / 2 },
    (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16),
  );
}
