/**
 * Strict UTF-8 for message bodies: a body that is not valid UTF-8 is refused, never
 * stored with replacement characters in place of the bytes the sender meant.
 */
const STRICT = new TextDecoder("utf-8", { fatal: true });

/** The text of `bytes`, or the offset of the first byte that is not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): { text: string } | { invalidAt: number } {
  try {
    return { text: STRICT.decode(bytes) };
  } catch {
    return { invalidAt: firstInvalid(bytes) };
  }
}

/** Where the first ill-formed sequence starts (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
function firstInvalid(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b < 0x80) length = 1;
    else if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0;
      if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) return i;
    }
    i += length;
  }
  return bytes.length;
}
