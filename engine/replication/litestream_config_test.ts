import assert from "node:assert/strict";
import { parse } from "yaml";
import { parseConfig } from "../config/load.ts";
import { litestreamYaml } from "./litestream_config.ts";
import { findLitestream } from "./litestream.ts";

const config = (replication: string) =>
  parseConfig(
    `engine: { data_dir: /srv/lj, shard_count: 3 }\nreplication: ${replication}\n`,
    "/etc/lj.yaml",
  );

Deno.test("litestream.yml lists every shard, meta.db and dlq.db, each under its own replica path", () => {
  const c = config(
    "{ enabled: true, replica_url: s3://backups/litejoin, endpoint: http://127.0.0.1:9000, sync_interval: 500ms }",
  );
  const yaml = parse(litestreamYaml(c.replication, c.engine.data_dir, c.engine.shard_count));
  assert.deepEqual(yaml.dbs.map((d: { path: string }) => d.path), [
    "/srv/lj/shard_0.db",
    "/srv/lj/shard_1.db",
    "/srv/lj/shard_2.db",
    "/srv/lj/meta.db",
    "/srv/lj/dlq.db",
  ]);
  assert.deepEqual(yaml.dbs[1].replicas, [{
    type: "s3",
    bucket: "backups",
    path: "litejoin/shard_1",
    endpoint: "http://127.0.0.1:9000",
    "force-path-style": true,
    "sync-interval": "500ms",
    "snapshot-interval": "3600000ms",
    retention: "259200000ms",
  }]);
  assert.equal(yaml.dbs[3].replicas[0].path, "litejoin/meta");
  assert.equal(yaml.dbs[0]["monitor-interval"], "500ms");
});

Deno.test("litestream.yml uses a file replica's path and passes other schemes as URLs", () => {
  const file = config("{ enabled: true, replica_url: file:///var/backups/lj/ }");
  const fileYaml = parse(litestreamYaml(file.replication, "/d", 1));
  assert.deepEqual(
    [fileYaml.dbs[0].replicas[0].type, fileYaml.dbs[0].replicas[0].path],
    ["file", "/var/backups/lj/shard_0"],
  );
  const gcs = config("{ enabled: true, replica_url: gcs://bucket/prefix }");
  assert.equal(
    parse(litestreamYaml(gcs.replication, "/d", 1)).dbs[2].replicas[0].url,
    "gcs://bucket/prefix/dlq",
  );
});

Deno.test("replication needs a replica_url when enabled, and refuses unknown schemes", () => {
  assert.throws(
    () => parseConfig("replication: { enabled: true }\n", "x.yaml"),
    /x\.yaml:1:14: replication: replica_url is required when replication is enabled/,
  );
  assert.throws(
    () => parseConfig("replication: { replica_url: ftp://x/y }\n", "x.yaml"),
    /must be a replica URL/,
  );
});

Deno.test("Litestream 0.3.13 itself reads the generated litestream.yml", async () => {
  const dir = await Deno.makeTempDir();
  const c = config(`{ enabled: true, replica_url: "file://${dir}/replica" }`);
  await Deno.writeTextFile(`${dir}/litestream.yml`, litestreamYaml(c.replication, dir, 2));
  const bin = await findLitestream();
  const out = await new Deno.Command(bin, {
    args: ["databases", "-config", `${dir}/litestream.yml`],
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  for (const name of ["shard_0.db", "shard_1.db", "meta.db", "dlq.db"]) {
    assert.match(text, new RegExp(`${dir}/${name}\\s+file`));
  }
});
