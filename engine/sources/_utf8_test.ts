import assert from "node:assert/strict";
import { decodeUtf8 } from "./_utf8.ts";

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(
    parts.flatMap((p) => typeof p === "string" ? [...new TextEncoder().encode(p)] : p),
  );

Deno.test("utf-8: valid text decodes, the first ill-formed byte is located", () => {
  assert.deepEqual(decodeUtf8(bytes('{"a":"ü😀"}')), { text: '{"a":"ü😀"}' });
  const cases: [number[], number][] = [
    [[0xff], 5], // never valid
    [[0xc3, 0x28], 5], // a lead byte without its continuation
    [[0x80], 5], // a lone continuation byte
    [[0xc0, 0xaf], 5], // overlong "/"
    [[0xe0, 0x80, 0xaf], 5], // overlong, three bytes
    [[0xed, 0xa0, 0x80], 5], // a UTF-16 surrogate
    [[0xf4, 0x90, 0x80, 0x80], 5], // above U+10FFFF
    [[0xf0, 0x9f, 0x98], 5], // truncated emoji
  ];
  for (const [bad, at] of cases) {
    assert.deepEqual(decodeUtf8(bytes('{"a":', bad, "}")), { invalidAt: at }, String(bad));
  }
});
