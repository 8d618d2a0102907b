/** `litejoin replication config`: the litestream.yml for the current shards, for a sidecar. */
import { loadConfig } from "../engine/mod.ts";
import { litestreamYaml } from "../engine/mod.ts";
import { EXIT, fail } from "./exit.ts";

export async function replicationConfig(opts: { config: string; exec?: string }): Promise<void> {
  try {
    const config = await loadConfig(opts.config);
    if (!config.replication.replica_url) {
      console.error(
        `litejoin: set replication.replica_url in ${opts.config} (e.g. s3://bucket/litejoin)`,
      );
      Deno.exit(EXIT.usage);
    }
    Deno.stdout.writeSync(new TextEncoder().encode(
      litestreamYaml(config.replication, config.engine.data_dir, config.engine.shard_count, {
        exec: opts.exec,
      }),
    ));
  } catch (error) {
    fail(error);
  }
}

/** `litejoin replication mode`: prints off, sidecar or embedded, for start-up scripts. */
export async function replicationMode(opts: { config: string }): Promise<void> {
  try {
    const { replication } = await loadConfig(opts.config);
    console.log(replication.enabled ? replication.mode : "off");
  } catch (error) {
    fail(error);
  }
}
