/**
 * Offset commits for the Kafka source, grouped: a partition's offset is handed over
 * once its records are stored in SQLite, and one OffsetCommit request carries the
 * newest offset of every partition handed over since the previous request. Partitions
 * processed at once share a round trip, and no partition waits for one before its next
 * fetch.
 */

/** Sends one commit to the group coordinator (kafkajs `commitOffsetsIfNecessary(offsets)`). */
export type CommitFn = (offsets: {
  topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
}) => Promise<void>;

interface Pending {
  topic: string;
  partition: number;
  /** The next offset to read: one past the last stored record. */
  offset: string;
}

export class OffsetCommitter {
  readonly #pending = new Map<string, Pending>();
  #commit: CommitFn | undefined;
  #running: Promise<void> | undefined;

  /** `onError` hears about commits that failed; their records may be read again later. */
  constructor(readonly onError: (error: unknown, count: number) => void) {}

  /**
   * Records that everything before `nextOffset` in the partition is stored, and starts a
   * commit unless one is in flight (then the next one carries it). `commit` belongs to
   * the current consumer, whose group generation the coordinator checks.
   */
  stored(topic: string, partition: number, nextOffset: string, commit: CommitFn): void {
    this.#pending.set(`${topic}\0${partition}`, { topic, partition, offset: nextOffset });
    this.#commit = commit;
    this.#running ??= this.#run().finally(() => this.#running = undefined);
  }

  async #run(): Promise<void> {
    while (this.#pending.size) {
      const byTopic = new Map<string, { partition: number; offset: string }[]>();
      for (const p of this.#pending.values()) {
        const list = byTopic.get(p.topic) ?? byTopic.set(p.topic, []).get(p.topic)!;
        list.push({ partition: p.partition, offset: p.offset });
      }
      const count = this.#pending.size;
      this.#pending.clear();
      try {
        await this.#commit!({
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        });
      } catch (error) {
        // At least once still holds: the records are stored, and a later commit of the
        // partition, or a restart from the older offset, covers them.
        this.onError(error, count);
      }
    }
  }

  /** Resolves once every offset handed over so far has been sent (or failed). */
  async drain(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Forgets offsets not yet sent, e.g. when the consumer that read them is gone. */
  clear(): void {
    this.#pending.clear();
  }
}
