/**
 * Bytes in pieces: joining chunks into one array, and reading a stream of them with a
 * size limit (HTTP request and response bodies). Shared by the HTTP and API sources and
 * the SSE sink's frames.
 */

/** The parts joined into one array; a single part is returned as it is, not copied. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/**
 * The whole of `stream` (no stream: no bytes), or undefined as soon as it grows past
 * `limit` bytes; the stream is then cancelled, so the rest is never read.
 */
export async function readAtMost(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array | undefined> {
  if (!stream) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.byteLength;
    if (total > limit) return undefined;
    chunks.push(chunk);
  }
  return concatBytes(chunks);
}
