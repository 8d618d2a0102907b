import assert from "node:assert/strict";
import { concatBytes, readAtMost } from "./bytes.ts";

function streamOf(chunks: number[][], onCancel?: () => void): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(new Uint8Array(chunks[i++]));
      else controller.close();
    },
    cancel() {
      onCancel?.();
    },
  });
}

Deno.test("concatBytes joins the parts in order, and returns a single part as it is", () => {
  assert.deepEqual(concatBytes([]), new Uint8Array());
  const one = new Uint8Array([1, 2]);
  assert.equal(concatBytes([one]), one);
  const parts = [[1], [], [2, 3], [4, 5, 6]].map((p) => new Uint8Array(p));
  assert.deepEqual(concatBytes(parts), new Uint8Array([1, 2, 3, 4, 5, 6]));
  // Views into a larger buffer are copied from their own offset.
  const view = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
  assert.deepEqual(concatBytes([view, one]), new Uint8Array([8, 7, 1, 2]));
});

Deno.test("readAtMost reads the whole stream up to the limit, and stops and cancels past it", async () => {
  assert.deepEqual(await readAtMost(null, 10), new Uint8Array());
  assert.deepEqual(await readAtMost(streamOf([]), 0), new Uint8Array());
  assert.deepEqual(await readAtMost(streamOf([[1, 2], [3]]), 3), new Uint8Array([1, 2, 3]));
  let cancelled = false;
  let pulled = 0;
  const stream = streamOf([[1, 2], [3, 4], [5, 6], [7]], () => cancelled = true);
  const counting = stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        pulled++;
        controller.enqueue(chunk);
      },
    }),
  );
  assert.equal(await readAtMost(counting, 3), undefined);
  assert.equal(cancelled, true, "the source is cancelled");
  assert.ok(pulled < 4, `read ${pulled} chunks of 4`);
});
