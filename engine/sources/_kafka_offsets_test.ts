import assert from "node:assert/strict";
import { type CommitFn, OffsetCommitter } from "./_kafka_offsets.ts";

Deno.test("offset commits are grouped: partitions stored during a commit share the next one", async () => {
  const sent: string[] = [];
  let release = Promise.withResolvers<void>();
  const commit: CommitFn = async ({ topics }) => {
    sent.push(
      topics.flatMap((t) => t.partitions.map((p) => `${t.topic}/${p.partition}@${p.offset}`))
        .sort().join(" "),
    );
    await release.promise;
  };
  const committer = new OffsetCommitter(() => assert.fail("no commit fails here"));
  committer.stored("a", 0, "10", commit);
  committer.stored("a", 1, "5", commit);
  committer.stored("a", 0, "20", commit); // the newest offset of a partition wins
  committer.stored("b", 0, "7", commit);
  const first = release;
  release = Promise.withResolvers<void>();
  first.resolve();
  release.resolve();
  await committer.drain();
  assert.deepEqual(sent, ["a/0@10", "a/0@20 a/1@5 b/0@7"]);
});

Deno.test("a failed offset commit is reported and the next one goes ahead", async () => {
  const errors: string[] = [];
  const committer = new OffsetCommitter((e, n) => errors.push(`${(e as Error).message} (${n})`));
  let calls = 0;
  const commit: CommitFn = () =>
    ++calls === 1 ? Promise.reject(new Error("rebalancing")) : Promise.resolve();
  committer.stored("a", 0, "1", commit);
  await committer.drain();
  committer.stored("a", 0, "2", commit);
  await committer.drain();
  assert.deepEqual(errors, ["rebalancing (1)"]);
  assert.equal(calls, 2);
});
