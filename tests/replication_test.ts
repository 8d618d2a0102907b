import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ControlClient } from "../engine/mod.ts";
import { shardOf } from "../engine/store/fnv.ts";
import { findLitestream, type LitestreamHealth } from "../engine/replication/litestream.ts";
import { CLI, topicKeys, waitFor } from "./_helpers.ts";
import { spawnEngine } from "./_process.ts";
import { startS3 } from "./_s3.ts";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";

const SYNC_MS = 200;

const config = (replica: string, mode = "embedded") => `
http: { listen: "127.0.0.1:0" }
engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
replication:
  enabled: true
  mode: ${mode}
  replica_url: "file://${replica}"
  sync_interval: ${SYNC_MS}ms
`;

async function replicationHealth(dir: string): Promise<LitestreamHealth> {
  const client = await ControlClient.connect(`${dir}/data/litejoin.sock`);
  try {
    return (await client.request<{ replication: LitestreamHealth }>("info")).replication;
  } finally {
    client.close();
  }
}

/** Posts batches of unique keys until `stop()`, recording when each was acknowledged. */
function ingest(url: string) {
  const acked = new Map<string, number>();
  let running = true;
  const clients = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; running; i++) {
      const batch = Array.from({ length: 5 }, (_, j) => ({ id: `w${w}-${i}-${j}` }));
      try {
        const response = await fetch(`${url}/in`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(batch),
        });
        await response.body?.cancel();
        if (response.status === 202) { for (const m of batch) acked.set(m.id, Date.now()); }
      } catch {
        return;
      }
    }
  });
  return {
    acked,
    stop: async () => {
      running = false;
      await Promise.all(clients);
    },
  };
}

Deno.test("SIGKILL of engine and Litestream, data directory lost: restore on boot brings back all but the last sync", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-repl-" });
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, config(`${dir}/replica`));
  const engine = await spawnEngine(dir);
  await waitFor(
    "replication",
    async () => (await replicationHealth(dir)).state === "replicating",
    20_000,
  );
  const load = ingest(engine.url);
  await new Promise((r) => setTimeout(r, 4000));
  const health = await replicationHealth(dir);
  const firstAck = Math.min(...load.acked.values());
  // The machine is lost: Litestream gets no chance to sync again, then the engine dies.
  await new Deno.Command("pkill", { args: ["-KILL", "-f", `${dir}/data/litestream.yml`] }).output();
  const killedAt = Date.now();
  engine.child.kill("SIGKILL");
  await engine.exited;
  await load.stop();
  await Deno.remove(`${dir}/data`, { recursive: true });

  const restored = await spawnEngine(dir);
  try {
    assert.match(restored.log(), /restored .*shard_0\.db from its replica/);
    const present = topicKeys(`${dir}/data`, "events", 2);
    for (let i = 0; i < 2; i++) {
      assert.ok(
        health.synced[`${dir}/data/shard_${i}.db`] > firstAck + 1000,
        `shard ${i} synced during ingest`,
      );
    }
    assert.ok(present.size > 0, "ingested messages were restored");
    // Each shard comes back as a prefix of its commits: no hole in the write sequence.
    for (let i = 0; i < 2; i++) {
      const db = new DatabaseSync(`${dir}/data/shard_${i}.db`, { readOnly: true });
      const { n, top } = db.prepare("SELECT count(*) AS n, max(_seq) AS top FROM events").get() as {
        n: number;
        top: number;
      };
      db.close();
      assert.equal(n, top ?? 0, `shard ${i} restored with holes in its commits`);
    }
    // Everything acknowledged before a shard's last sync began is in its replica.
    const missing = [...load.acked].filter(([key]) => !present.has(key));
    for (const [key, at] of missing) {
      const synced = health.synced[`${dir}/data/shard_${shardOf(key, 2)}.db`];
      assert.ok(
        at > synced - 2 * SYNC_MS,
        `${key} was acknowledged ${synced - at} ms before its shard's last sync`,
      );
    }
    const oldest = Math.min(...missing.map(([, at]) => at));
    console.log(
      `replication: acknowledged ${load.acked.size}, restored ${present.size}, lost ${missing.length}` +
        (missing.length
          ? ` (acknowledged in the last ${killedAt - oldest} ms before the kill)`
          : ""),
    );
  } finally {
    restored.child.kill("SIGTERM");
    await restored.exited;
  }
});

Deno.test("a Litestream child that dies is restarted with backoff, and the operator is told", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-repl-" });
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, config(`${dir}/replica`));
  const engine = await spawnEngine(dir);
  try {
    await waitFor(
      "replication",
      async () => (await replicationHealth(dir)).state === "replicating",
      20_000,
    );
    // Litestream itself dies, not its watchdog shell.
    const found = await new Deno.Command("pgrep", { args: ["-f", `${dir}/data/litestream.yml`] })
      .output();
    const pids = new TextDecoder().decode(found.stdout).trim().split("\n").map(Number)
      .filter((pid) => Deno.readTextFileSync(`/proc/${pid}/comm`).trim() === "litestream");
    assert.equal(pids.length, 1, "one litestream process runs");
    Deno.kill(pids[0], "SIGKILL");
    await waitFor("the restart", async () => (await replicationHealth(dir)).restarts === 1, 20_000);
    await waitFor(
      "replicating again",
      async () => (await replicationHealth(dir)).state === "replicating",
      20_000,
    );
    assert.match(
      engine.log(),
      /litestream exited with code \d+.*replication is paused, restarting in \d+ s/,
    );
    const metrics = await (await fetch(`${engine.url}/metrics`)).text();
    assert.match(metrics, /^litejoin_replication_restarts_total 1$/m);
    assert.match(metrics, /^litejoin_replication_up 1$/m);
  } finally {
    engine.child.kill("SIGTERM");
    assert.equal((await engine.exited).code, 0);
  }
  // The engine's stop also stopped its Litestream.
  const left = await new Deno.Command("pgrep", { args: ["-f", `${dir}/data/litestream.yml`] })
    .output();
  assert.equal(new TextDecoder().decode(left.stdout).trim(), "");
});

Deno.test("sidecar: examples/run.sh restores, runs litejoin under litestream, and a clean stop loses nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-sidecar-" });
  await Deno.writeTextFile(`${dir}/litejoin.yaml`, config(`${dir}/replica`, "sidecar"));
  const script = new URL("../examples/run.sh", import.meta.url).pathname;
  const env = {
    CONFIG: `${dir}/litejoin.yaml`,
    LITEJOIN: `${Deno.execPath()} run -A ${CLI}`,
    LITESTREAM: await findLitestream(),
  };
  const start = async () => {
    const child = new Deno.Command(script, { env, stdout: "piped", stderr: "piped" }).spawn();
    let text = "";
    const listening = Promise.withResolvers<string>();
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) {
        text += decoder.decode(chunk, { stream: true });
        const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(text);
        if (match) listening.resolve(match[1]);
      }
    };
    const done = Promise.all([pump(child.stdout), pump(child.stderr)]);
    const url = await Promise.race([
      listening.promise,
      child.status.then(async (s) => {
        await done;
        throw new Error(`run.sh exited ${s.code}:\n${text}`);
      }),
    ]);
    return { child, url, log: () => text, done };
  };

  const first = await start();
  const ids = Array.from({ length: 200 }, (_, i) => ({ id: `e${i}` }));
  const response = await fetch(`${first.url}/in`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(ids),
  });
  assert.equal(response.status, 202);
  await response.body?.cancel();
  await new Promise((r) => setTimeout(r, 1500)); // let Litestream's first tick open the databases
  first.child.kill("SIGTERM"); // reaches litejoin through litestream's -exec
  await first.child.status;
  await first.done;
  assert.match(first.log(), /SIGTERM: shutting down/);
  await Deno.remove(`${dir}/data`, { recursive: true });

  const second = await start();
  try {
    assert.equal(topicKeys(`${dir}/data`, "events", 2).size, 200);
  } finally {
    second.child.kill("SIGTERM");
    await second.child.status;
    await second.done;
  }
});

Deno.test("an S3 replica (s3rver) receives every database's files, and a lost data directory is restored from it", async () => {
  const s3 = await startS3();
  try {
    await s3.createBucket("litejoin-backups");
    const dir = await Deno.makeTempDir({ prefix: "litejoin-repl-s3-" });
    await Deno.writeTextFile(
      `${dir}/litejoin.yaml`,
      config("").replace(
        /replication:[\s\S]*$/,
        `replication:
  enabled: true
  mode: embedded
  replica_url: s3://litejoin-backups/prod
  endpoint: "${s3.endpoint}"
  region: us-east-1
  sync_interval: ${SYNC_MS}ms
`,
      ),
    );
    const engine = await spawnEngine(dir, s3.env);
    const response = await fetch(`${engine.url}/in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ id: `e${i}` }))),
    });
    assert.equal(response.status, 202);
    await response.body?.cancel();
    const client = s3.client();
    const keys = async () => {
      const listed = await client.send(
        new ListObjectsV2Command({ Bucket: "litejoin-backups", Prefix: "prod/" }),
      );
      return (listed.Contents ?? []).map((o) => o.Key!);
    };
    await waitFor("every database's snapshot and WAL in the bucket", async () => {
      const all = await keys();
      return ["shard_0", "shard_1", "meta", "dlq"].every((db) =>
        all.some((k) =>
          new RegExp(`^prod/${db}/generations/[0-9a-f]{16}/snapshots/[0-9a-f]+\\.snapshot\\.lz4$`)
            .test(k)
        ) &&
        all.some((k) => new RegExp(`^prod/${db}/generations/[0-9a-f]{16}/wal/`).test(k))
      );
    }, 30_000);
    engine.child.kill("SIGTERM");
    assert.equal((await engine.exited).code, 0);
    client.destroy();

    await Deno.remove(`${dir}/data`, { recursive: true });
    const restored = await spawnEngine(dir, s3.env);
    try {
      assert.match(restored.log(), /restored .*meta\.db from its replica/);
      assert.equal(topicKeys(`${dir}/data`, "events", 2).size, 100);
    } finally {
      restored.child.kill("SIGTERM");
      await restored.exited;
    }
  } finally {
    await s3.stop();
  }
});
