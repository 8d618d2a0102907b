import assert from "node:assert/strict";
import { Meta } from "../store/meta.ts";
import { keepRejected, KEPT_PER_SOURCE, listRejected, type RejectedMessage } from "./rejected.ts";

const rejected = (source: string, n: number): RejectedMessage => ({
  source,
  origin: `kafka:t/0@${n}`,
  reason: "not valid JSON",
  key: `k${n}`,
  value: new TextEncoder().encode(`bad ${n}`),
  at: n,
});

Deno.test("rejected messages are kept in meta.db, newest first, at most KEPT_PER_SOURCE per source", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-rejected-" });
  const meta = new Meta(`${dir}/meta.db`);
  try {
    keepRejected(meta, [rejected("other", 0)]);
    const many = Array.from({ length: KEPT_PER_SOURCE + 5 }, (_, i) => rejected("src", i));
    keepRejected(meta, many.slice(0, 10));
    keepRejected(meta, many.slice(10));
    const kept = listRejected(meta, "src", KEPT_PER_SOURCE * 2);
    assert.equal(kept.length, KEPT_PER_SOURCE);
    assert.equal(kept[0].key, `k${KEPT_PER_SOURCE + 4}`, "newest first");
    assert.equal(kept.at(-1)!.key, "k5", "the oldest made room");
    assert.equal(new TextDecoder().decode(kept[0].value!), `bad ${KEPT_PER_SOURCE + 4}`);
    assert.deepEqual(listRejected(meta, "other").map((r) => r.origin), ["kafka:t/0@0"]);
  } finally {
    meta.close();
    await Deno.remove(dir, { recursive: true });
  }
});
