import assert from "node:assert/strict";
import { parseConfig } from "../engine/config/load.ts";
import {
  allQueries,
  configFor,
  CORE,
  EXTRAS,
  FLINK_PER_CORE,
  LEFT_OUT,
} from "./_nexmark_config.ts";

const load = (yaml: string) => parseConfig(yaml, "/tmp/nexmark/litejoin.yaml");

Deno.test("every Nexmark query is run or said why not", () => {
  const nexmark = Array.from({ length: 23 }, (_, i) => `q${i}`);
  assert.deepEqual(
    [...allQueries(), ...Object.keys(LEFT_OUT)].sort(),
    [...nexmark].sort(),
  );
  assert.deepEqual([...CORE, ...EXTRAS].sort(), allQueries().sort());
  assert.deepEqual(Object.keys(FLINK_PER_CORE).sort(), [...CORE].sort());
});

Deno.test("the whole pipeline validates: every query prepares against the topics", () => {
  const config = load(configFor(allQueries()));
  assert.equal(config.joins.length + config.windows.length, allQueries().length);
  assert.deepEqual(config.topicNames, ["auctions", "bids", "persons", "side_input"]);
  for (const join of config.joins) assert(config.joinDelta.has(join.name), join.name);
  for (const window of config.windows) assert(config.windowSql.has(window.name), window.name);
});

Deno.test("each query runs alone, with only its sink and the sources it needs", () => {
  for (const q of allQueries()) {
    const config = load(configFor([q]));
    assert.deepEqual([...config.joins, ...config.windows].map((c) => c.name), [q]);
    assert.deepEqual(config.sinks.map((s) => s.name), [`${q}_db`]);
    assert.equal(config.topicNames.includes("side_input"), q === "q13", q);
  }
  const ingest = load(configFor([]));
  assert.equal(ingest.joins.length + ingest.windows.length + ingest.sinks.length, 0);
  assert.throws(() => configFor(["q10"]), /no query q10/);
});
