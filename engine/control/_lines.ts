/** Newline-delimited JSON over byte streams (the SQL child's stdin and stdout). */

/** Yields each non-empty line of `stream` parsed as JSON; throws on a line over `maxBytes`. */
export async function* readJsonLines(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) yield JSON.parse(line);
    }
    if (buffer.length > maxBytes) throw new RangeError(`a line exceeds ${maxBytes} bytes`);
  }
  const rest = (buffer + decoder.decode()).trim();
  if (rest) yield JSON.parse(rest);
}

const encoder = new TextEncoder();

/** Encodes `value` as one JSON line. */
export function jsonLine(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value) + "\n");
}
