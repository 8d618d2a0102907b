/** `litejoin reshard --to N`: rewrites the data offline into another shard count. */
import { loadConfig, LockedError } from "../engine/mod.ts";
import { reshard } from "../engine/mod.ts";
import { MAX_SHARDS } from "../engine/mod.ts";
import { EXIT, fail } from "./exit.ts";
import { progressBar } from "./_progress.ts";

export async function reshardCommand(opts: { config: string; to: string }): Promise<void> {
  try {
    const to = Number(opts.to);
    if (!Number.isInteger(to) || to < 1 || to > MAX_SHARDS) {
      console.error(
        `litejoin: --to must be a whole number from 1 to ${MAX_SHARDS}, not ${opts.to}`,
      );
      Deno.exit(EXIT.usage);
    }
    const config = await loadConfig(opts.config);
    const dataDir = config.engine.data_dir;
    const lock = await Deno.open(`${dataDir}/LOCK`, { create: true, write: true });
    if (!(await lock.tryLock(true))) throw new LockedError(dataDir);
    const bar = progressBar("copying", "rows");
    const report = reshard(dataDir, to, (done, total) => bar.update(done, total));
    bar.end();
    lock.close();
    if (!report) {
      console.log(`${dataDir} already has ${to} shard(s); nothing to do`);
      return;
    }
    const rows = Object.entries(report.rows).map(([t, n]) => `${t} ${n}`).join(", ") || "no topics";
    console.log(`resharded ${dataDir} from ${report.from} to ${report.to} shard(s): ${rows}`);
    console.log(`the old shards are kept in ${report.backup}; delete it once the engine runs well`);
    console.log(`next: set engine.shard_count: ${report.to} in ${opts.config}`);
    if (config.replication.enabled) {
      console.log(
        "replication: the replicas hold the old layout and no longer match. Point replication.replica_url at a " +
          "new prefix (or delete the old replica) before starting the engine" +
          (config.replication.mode === "sidecar"
            ? ", and regenerate litestream.yml with litejoin replication config"
            : "") +
          "; Litestream then starts a new generation for each shard.",
      );
    }
  } catch (error) {
    fail(error);
  }
}
