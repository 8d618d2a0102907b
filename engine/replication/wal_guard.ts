/**
 * While Litestream replicates, the engine leaves checkpoints to it
 * (`wal_autocheckpoint = 0`), so a WAL grows until Litestream checkpoints it. If
 * Litestream is not running (a sidecar that was never started, a child that keeps
 * crashing), nothing would: this guard checkpoints any WAL past `wal_max` itself and
 * says so. Litestream detects the foreign checkpoint and starts a new generation, which
 * costs a snapshot but loses nothing.
 */
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";

export interface GuardedDatabase {
  name: string;
  path: string;
  checkpoint(): Promise<void> | void;
}

export class WalGuard {
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #warned = new Set<string>();
  readonly #bytes;
  readonly #forced;

  constructor(
    readonly databases: readonly GuardedDatabase[],
    readonly walMax: number,
    readonly log: Logger,
    metrics: Metrics,
  ) {
    this.#bytes = metrics.gauge("litejoin_wal_bytes", "Size of each database's write-ahead log.");
    this.#forced = metrics.counter(
      "litejoin_wal_forced_checkpoints_total",
      "Checkpoints the engine ran itself because a WAL passed replication.wal_max.",
    );
  }

  start(intervalMs = 5000): void {
    this.#timer = setInterval(() => void this.check(), intervalMs);
  }

  /** Measures every WAL and checkpoints those past the limit. */
  async check(): Promise<void> {
    for (const db of this.databases) {
      let size = 0;
      try {
        size = (await Deno.stat(`${db.path}-wal`)).size;
      } catch {
        continue; // no WAL right now
      }
      this.#bytes.set({ db: db.name }, size);
      if (size <= this.walMax) {
        this.#warned.delete(db.name);
        continue;
      }
      if (!this.#warned.has(db.name)) {
        this.#warned.add(db.name);
        this.log.warn(
          `the WAL of ${db.name} is ${Math.round(size / 1048576)} MiB, past replication.wal_max: ` +
            "is Litestream running? checkpointing it now (Litestream will start a new generation)",
        );
      }
      await db.checkpoint();
      this.#forced.inc({ db: db.name });
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
