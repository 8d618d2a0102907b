/**
 * The fault drills, one after another, each on its own engine process and data
 * directory: kill -9 under load, a sink outage, a full disk, bad input fuzzing.
 * Prints a table of drill, outcome and details, then one JSON line; exits 1 if any
 * drill fails (a skipped drill, e.g. the full disk without root, is not a failure).
 *
 *   deno task faults
 *   deno task faults --only fuzz --seed 1234 --fuzz-count 5000
 */
import { parseArgs } from "node:util";
import { table } from "../_observe.ts";
import { type Drill, DrillFailure, type Outcome } from "./_drill.ts";
import { killDrill } from "./kill.ts";
import { outageDrill } from "./outage.ts";
import { diskDrill } from "./disk.ts";
import { fuzzDrill } from "./fuzz.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    only: { type: "string" },
    seed: { type: "string" },
    "fuzz-count": { type: "string", default: "3000" },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const fuzzCount = Number(values["fuzz-count"]);
if (!Number.isInteger(seed) || !(fuzzCount > 0)) {
  console.error("faults: --seed takes an integer and --fuzz-count a positive number");
  Deno.exit(2);
}
console.error(`faults: fuzz seed ${seed} (replay with --seed ${seed})`);

const drills: Record<string, Drill> = {
  kill: killDrill,
  outage: outageDrill,
  disk: diskDrill,
  fuzz: fuzzDrill(seed, fuzzCount),
};
const chosen = values.only ? values.only.split(",") : Object.keys(drills);
for (const name of chosen) {
  if (!drills[name]) {
    console.error(`faults: no drill named ${name} (have: ${Object.keys(drills).join(", ")})`);
    Deno.exit(2);
  }
}

const results: ({ drill: string; seconds: number } & Outcome)[] = [];
for (const name of chosen) {
  const drill = drills[name];
  console.error(`drill: ${drill.name} …`);
  const started = performance.now();
  let outcome: Outcome;
  try {
    outcome = await drill.run();
  } catch (error) {
    const e = error as Error;
    outcome = {
      outcome: "fail",
      details: e instanceof DrillFailure ? e.message : `${e.name}: ${e.message}`,
    };
  }
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  results.push({ drill: drill.name, seconds, ...outcome });
  console.error(`drill: ${drill.name}: ${outcome.outcome} (${seconds} s)`);
}

console.log(
  table(
    ["drill", "outcome", "s", "details"],
    results.map((r) => [r.drill, r.outcome, r.seconds, r.details.split("\n")[0]]),
  ),
);
for (const r of results.filter((r) => r.outcome === "fail" && r.details.includes("\n"))) {
  console.log(`\n${r.drill}:\n${r.details}`);
}
console.log(JSON.stringify({ bench: "faults", date: new Date().toISOString(), seed, results }));
Deno.exit(results.some((r) => r.outcome === "fail") ? 1 : 0);
