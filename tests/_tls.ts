/**
 * Test certificates made at run time with openssl: a CA, and server certificates it
 * signs for 127.0.0.1 and localhost. Nothing is checked in; every run makes new keys.
 */

export interface Ca {
  cert: string;
  key: string;
  /** The CA certificate's PEM text. */
  pem: string;
}

export interface Issued {
  cert: string;
  key: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** openssl req arguments for a new EC P-256 key, unencrypted. */
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A new CA (EC P-256, valid one day) in `dir`, files named after `name`. */
export async function makeCa(dir: string, name = "ca"): Promise<Ca> {
  const cert = `${dir}/${name}.pem`;
  const key = `${dir}/${name}.key`;
  await openssl([
    "req",
    "-x509",
    ...NEW_KEY,
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    `/CN=LiteJoin test ${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  return { cert, key, pem: await Deno.readTextFile(cert) };
}

/** A server certificate for 127.0.0.1 and localhost signed by `ca`, as `<name>.pem/.key`. */
export async function issue(dir: string, ca: Ca, name: string): Promise<Issued> {
  const cert = `${dir}/${name}.pem`;
  const key = `${dir}/${name}.key`;
  const csr = `${dir}/${name}.csr`;
  const ext = `${dir}/${name}.ext`;
  await openssl([
    "req",
    ...NEW_KEY,
    "-keyout",
    key,
    "-out",
    csr,
    "-subj",
    `/CN=${name}`,
  ], dir);
  await Deno.writeTextFile(
    ext,
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n" +
      "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-out",
    cert,
    "-days",
    "1",
    "-extfile",
    ext,
  ], dir);
  return { cert, key };
}

/** Whether an HTTPS GET of `url` succeeds when only `caPem` is trusted; the status or the error. */
export async function httpsGet(
  url: string,
  caPem: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string } | { error: string }> {
  const client = Deno.createHttpClient({ caCerts: [caPem] });
  try {
    const response = await fetch(url, { client, headers });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    const e = error as Error;
    return { error: `${e.message} ${e.cause instanceof Error ? e.cause.message : ""}` };
  } finally {
    client.close();
  }
}
