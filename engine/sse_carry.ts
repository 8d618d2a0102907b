/**
 * Tells each SSE sink, before results flow, which result sets feed it (every join or
 * window that lists it in `sinks`) and how to read a join's current result, so that
 * the sink can seed a set it has not carried before and drop one it no longer gets.
 */
import type { JoinConfig } from "./joins/spec.ts";
import type { Readers } from "./store/readers.ts";
import type { Clock } from "./types.ts";
import { diffRows } from "./joins/evaluator.ts";
import type { SinkRunner } from "./sinks/runner.ts";
import type { CarriedSet } from "./sinks/sink.ts";

interface Feeder {
  name: string;
  sinks: string[];
}

/** Items of every config section that feed sinks (joins, windows, and any added later). */
function feeders(config: object): Map<string, Feeder[]> {
  const out = new Map<string, Feeder[]>();
  for (const [section, items] of Object.entries(config)) {
    if (section === "sinks" || !Array.isArray(items)) continue;
    for (const item of items as Partial<Feeder>[]) {
      if (typeof item?.name !== "string" || !Array.isArray(item.sinks)) continue;
      for (const sink of item.sinks) out.set(sink, [...(out.get(sink) ?? []), item as Feeder]);
    }
  }
  return out;
}

export async function carrySseSets(
  config: { joins: readonly Pick<JoinConfig, "name" | "key" | "sql">[] },
  sinks: ReadonlyMap<string, SinkRunner>,
  readers: Readers,
  clock: Clock,
): Promise<void> {
  const fed = feeders(config);
  for (const [name, runner] of sinks) {
    const sink = runner.sink;
    if (!sink.carry) continue;
    const sets: CarriedSet[] = (fed.get(name) ?? []).map((feeder) => {
      const join = config.joins.find((j) => j.name === feeder.name);
      if (!join) return { name: feeder.name };
      const definition = { name: join.name, key: join.key, sql: join.sql, topics: [] };
      return {
        name: join.name,
        current: async () =>
          diffRows(definition, await readers.all(join.sql), new Map(), clock.now()).results,
      };
    });
    await sink.carry(sets);
  }
}
