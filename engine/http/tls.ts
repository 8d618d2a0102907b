/**
 * TLS on the HTTP listener (`http.tls`): a PEM certificate chain and its key, read at
 * start and read again on SIGHUP or when either file changes (renewals by certbot, a
 * Kubernetes secret, a cron job). A new pair is checked before it is used: one that
 * cannot be read, or whose key is not the certificate's, leaves the current one in
 * place and is reported in one line.
 */
import { dirname, resolve } from "node:path";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { boolean, type Infer, object, string } from "../schema/schema.ts";
import type { Logger } from "../log.ts";

export const tlsSpec = object({
  cert_file: string().describe(
    "PEM certificate chain, the server's certificate first (relative to the config file).",
    "./tls/cert.pem",
  ),
  key_file: string().describe("PEM private key of that certificate.", "./tls/key.pem"),
  watch: boolean().default(true).describe(
    "Reload the pair when either file changes. SIGHUP reloads it in any case.",
  ),
});

export type TlsConfig = Infer<typeof tlsSpec>;

/** A certificate and key known to belong together. */
export interface CertPair {
  cert: string;
  key: string;
  /** Subject, expiry and fingerprint, for the log. */
  summary: string;
}

/** Reads and checks a pair; the error says which file is wrong and how. */
export async function readPair(certFile: string, keyFile: string): Promise<CertPair> {
  const read = async (file: string, field: string) => {
    try {
      return await Deno.readTextFile(file);
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? "no such file"
        : (error as Error).message;
      throw new Error(`cannot read http.tls.${field} ${file}: ${reason}`);
    }
  };
  const [cert, key] = await Promise.all([read(certFile, "cert_file"), read(keyFile, "key_file")]);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (error) {
    throw new Error(
      `${certFile} is not a PEM certificate (${(error as Error).message}); ` +
        "http.tls.cert_file wants -----BEGIN CERTIFICATE-----",
    );
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch (error) {
    throw new Error(
      `${keyFile} is not a PEM private key (${(error as Error).message}); ` +
        "http.tls.key_file wants -----BEGIN PRIVATE KEY-----",
    );
  }
  if (!matches) {
    throw new Error(`${keyFile} is not the key of ${certFile}; give the key it was issued for`);
  }
  const fingerprint = x509.fingerprint256.replaceAll(":", "").slice(0, 16).toLowerCase();
  return {
    cert,
    key,
    summary: `${x509.subject.replaceAll("\n", ", ")}, valid until ${
      new Date(x509.validTo).toISOString()
    }, sha256 ${fingerprint}…`,
  };
}

/**
 * Keeps the listener's pair current: `apply` is called with every new valid pair,
 * after SIGHUP or a change to either file (changes are debounced, since a renewal
 * writes two files, often by renaming).
 */
export class CertReloader {
  #current: CertPair | undefined;
  #watcher: Deno.FsWatcher | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #reloading: Promise<boolean> = Promise.resolve(false);
  readonly #onHup = () => void this.reload("SIGHUP");

  constructor(
    readonly certFile: string,
    readonly keyFile: string,
    readonly apply: (pair: CertPair) => void,
    readonly log: Logger,
    readonly debounceMs = 250,
  ) {}

  /** Reads the pair the listener starts with (throws when it is unusable). */
  async initial(): Promise<CertPair> {
    this.#current = await readPair(this.certFile, this.keyFile);
    this.log.info(`TLS certificate ${this.#current.summary}`);
    return this.#current;
  }

  /** Starts reloading on SIGHUP and, when `watch`, on file changes. */
  start(watch: boolean): void {
    Deno.addSignalListener("SIGHUP", this.#onHup);
    if (!watch) return;
    // Directories, not files: renewals replace files by renaming, and a watch on the
    // old file would see nothing after the first renewal.
    const dirs = [...new Set([dirname(resolve(this.certFile)), dirname(resolve(this.keyFile))])];
    this.#watcher = Deno.watchFs(dirs, { recursive: false });
    (async () => {
      try {
        for await (const _ of this.#watcher!) {
          clearTimeout(this.#timer);
          this.#timer = setTimeout(() => void this.reload("file change"), this.debounceMs);
        }
      } catch { /* closed */ }
    })();
  }

  /**
   * Reads the files again; applies the pair when it is valid and new. Resolves whether
   * a new pair was applied. Reloads run one at a time.
   */
  reload(why: string): Promise<boolean> {
    this.#reloading = this.#reloading.then(async () => {
      let pair: CertPair;
      try {
        pair = await readPair(this.certFile, this.keyFile);
      } catch (error) {
        this.log.error(
          `TLS reload (${why}) failed, still serving the previous certificate: ${
            (error as Error).message
          }`,
        );
        return false;
      }
      if (pair.cert === this.#current?.cert && pair.key === this.#current?.key) return false;
      try {
        this.apply(pair);
      } catch (error) {
        this.log.error(
          `TLS reload (${why}) failed, still serving the previous certificate: ${
            (error as Error).message
          }`,
        );
        return false;
      }
      this.#current = pair;
      this.log.info(`TLS certificate reloaded (${why}): ${pair.summary}`);
      return true;
    });
    return this.#reloading;
  }

  stop(): void {
    Deno.removeSignalListener("SIGHUP", this.#onHup);
    clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
