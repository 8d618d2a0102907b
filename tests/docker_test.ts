/**
 * No Docker engine runs here, so the image is checked in parts: the Dockerfile's
 * references against the repository, and its entrypoint for real, with `litejoin` on
 * PATH as it is in the image.
 */
import assert from "node:assert/strict";
import { CLI, waitFor } from "./_helpers.ts";
import { findLitestream } from "../engine/replication/litestream.ts";

const root = new URL("../", import.meta.url).pathname;
const dockerfile = Deno.readTextFileSync(`${root}Dockerfile`);

Deno.test("the Dockerfile copies files that exist, builds what the compile task builds, and checks health with a real command", async () => {
  const ignored = Deno.readTextFileSync(`${root}.dockerignore`).split("\n").filter((l) =>
    l && !l.startsWith("#")
  );
  for (const match of dockerfile.matchAll(/^COPY (?!--from)(\S+(?: \S+)*) \S+$/gm)) {
    for (const source of match[1].split(" ")) {
      if (source === ".") continue;
      assert.ok(
        await Deno.stat(`${root}${source}`).catch(() => null),
        `COPY ${source}: no such file`,
      );
      assert.ok(
        !ignored.some((pattern) => source === pattern || source.startsWith(`${pattern}/`)),
        `${source} is in .dockerignore`,
      );
    }
  }
  const compile = JSON.parse(Deno.readTextFileSync(`${root}deno.json`)).tasks.compile as string;
  const output = /--output (\S+)/.exec(compile)![1];
  assert.match(dockerfile, new RegExp(`COPY --from=build /src/${output} /usr/local/bin/litejoin`));
  const litestream = /cp (node_modules\/\S+\/litestream) /.exec(dockerfile)![1];
  assert.ok(
    (await Deno.stat(`${root}${litestream}`)).isFile,
    `${litestream} is what deno install provides`,
  );
  const health = /HEALTHCHECK[\s\S]*?CMD \["litejoin", "(\w+)"/.exec(dockerfile)![1];
  const help = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, health, "--help"],
  }).output();
  assert.ok(help.success, `litejoin ${health} exists`);
  assert.match(dockerfile, /^USER litejoin$/m);
  assert.match(dockerfile, /^VOLUME \["\/var\/lib\/litejoin\/data"\]$/m);
});

/** A directory with `litejoin` (this repository's CLI) and `litestream` on PATH, as in the image. */
async function imageLikePath(): Promise<string> {
  const bin = await Deno.makeTempDir({ prefix: "litejoin-bin-" });
  await Deno.writeTextFile(
    `${bin}/litejoin`,
    `#!/bin/sh\nexec "${Deno.execPath()}" run -A "${CLI}" "$@"\n`,
  );
  await Deno.chmod(`${bin}/litejoin`, 0o755);
  await Deno.symlink(await findLitestream(), `${bin}/litestream`);
  return bin;
}

async function runEntrypoint(replication: string) {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-docker-" });
  await Deno.writeTextFile(
    `${dir}/litejoin.yaml`,
    `engine: { data_dir: "\${LITEJOIN_DATA_DIR:-./data}", shard_count: 2 }
http: { listen: "\${LITEJOIN_LISTEN:-127.0.0.1:8080}" }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id }
${replication}
`,
  );
  const bin = await imageLikePath();
  const child = new Deno.Command(`${root}docker/entrypoint.sh`, {
    env: {
      PATH: `${bin}:${Deno.env.get("PATH")}`,
      LITEJOIN_CONFIG: `${dir}/litejoin.yaml`,
      LITEJOIN_DATA_DIR: `${dir}/volume`,
      LITEJOIN_LISTEN: "127.0.0.1:0",
      LITESTREAM_CONFIG: `${dir}/litestream.yml`,
      LITEJOIN_RUN_SH: `${root}examples/run.sh`, // the image copies it to /usr/local/share/litejoin
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) log += decoder.decode(chunk, { stream: true });
  };
  const done = Promise.all([pump(child.stdout), pump(child.stderr)]);
  await waitFor("the engine to listen", () => /listening on http/.test(log), 30_000);
  return { child, dir, log: () => log, done };
}

Deno.test("the image's entrypoint runs litejoin with its data in the volume", async () => {
  const run = await runEntrypoint("");
  try {
    assert.ok(await Deno.stat(`${run.dir}/volume/shard_0.db`));
    assert.doesNotMatch(run.log(), /litestream/i);
  } finally {
    run.child.kill("SIGTERM");
    assert.equal((await run.child.status).code, 0);
    await run.done;
  }
});

Deno.test("the image's entrypoint runs litejoin under litestream replicate -exec in sidecar mode", async () => {
  const replica = await Deno.makeTempDir();
  const run = await runEntrypoint(
    `replication: { enabled: true, mode: sidecar, replica_url: "file://${replica}" }`,
  );
  try {
    const config = await Deno.readTextFile(`${run.dir}/litestream.yml`);
    assert.match(config, new RegExp(`${run.dir}/volume/shard_1\\.db`));
    await waitFor("Litestream to replicate", () => /msg="replicating to"/.test(run.log()), 15_000);
  } finally {
    run.child.kill("SIGTERM"); // reaches litejoin through litestream's -exec
    await run.child.status;
    await run.done;
  }
  assert.match(run.log(), /SIGTERM: shutting down/);
});
