/**
 * The benchmark suite: the micro-benchmarks (`*_bench.ts`, Deno.bench with a baseline
 * in each group), then every end-to-end scenario in bench/ (each prints one JSON line),
 * one after another. Writes bench/report.json and a readable bench/report.md.
 *
 *   deno task bench                 # everything
 *   deno task bench ingest latency  # some end-to-end scenarios (and the micro-benchmarks)
 */
const here = new URL(".", import.meta.url).pathname;
const files = [...Deno.readDirSync(here)].filter((e) => e.isFile).map((e) => e.name).sort();
const scenarios = files
  .filter((f) =>
    f.endsWith(".ts") && !f.startsWith("_") && f !== "main.ts" && !f.endsWith("_bench.ts")
  )
  .map((f) => f.replace(/\.ts$/, ""));
const micro = files.filter((f) => f.endsWith("_bench.ts"));

const chosen = Deno.args.length ? Deno.args : scenarios;
for (const name of chosen) {
  if (!scenarios.includes(name)) {
    console.error(`no benchmark named ${name} (have: ${scenarios.join(", ")})`);
    Deno.exit(2);
  }
}

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const report: {
  date: string;
  machine: { cpus: number; load_average: number[] };
  micro: unknown[];
  scenarios: Record<string, unknown>;
} = {
  date: new Date().toISOString(),
  machine: { cpus: navigator.hardwareConcurrency, load_average: Deno.loadavg() },
  micro: [],
  scenarios: {},
};

console.error(`micro-benchmarks: ${micro.join(", ")} …`);
const bench = await new Deno.Command(Deno.execPath(), {
  args: ["bench", "-A", "--json", ...micro.map((f) => `${here}${f}`)],
  stdout: "piped",
  stderr: "inherit",
}).output();
interface BenchJson {
  benches: {
    name: string;
    group: string | null;
    baseline: boolean;
    results: { ok?: { avg: number } }[];
  }[];
}
if (bench.success) {
  const json = JSON.parse(decode(bench.stdout)) as BenchJson;
  report.micro = json.benches.map((b) => ({
    group: b.group,
    name: b.name,
    baseline: b.baseline,
    avg_ns: Math.round(b.results[0]?.ok?.avg ?? NaN),
  }));
} else {
  report.micro = [{ error: `deno bench exited with ${bench.code}` }];
}

for (const name of chosen) {
  console.error(`scenario ${name} …`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${here}${name}.ts`],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const lines = decode(out.stdout).trim().split("\n").filter((l) => l.startsWith("{"));
  for (const line of lines) console.log(line);
  report.scenarios[name] = out.success
    ? lines.map((l) => JSON.parse(l))
    : { error: `exited with ${out.code}` };
}

await Deno.writeTextFile(`${here}report.json`, JSON.stringify(report, null, 2) + "\n");
await Deno.writeTextFile(`${here}report.md`, summary());
console.error(`wrote ${here}report.json and ${here}report.md`);

/** The report as Markdown: micro groups with their ratio to the baseline, then every figure. */
function summary(): string {
  const out = [
    `# LiteJoin benchmarks, ${report.date}`,
    "",
    `${report.machine.cpus} CPUs, load average ${
      report.machine.load_average.map((l) => l.toFixed(2)).join(" ")
    } ` +
    "at the start. Figures from a shared machine are noisy; ratios taken in one run are the steadier part.",
    "",
    "## Micro-benchmarks",
    "",
    "| group | benchmark | mean | vs baseline |",
    "|---|---|---|---|",
  ];
  const micro = report.micro as {
    group: string;
    name: string;
    baseline: boolean;
    avg_ns: number;
  }[];
  for (const b of micro) {
    if (!b.name) continue;
    const base = micro.find((m) => m.group === b.group && m.baseline);
    const ratio = base && !b.baseline ? `${(b.avg_ns / base.avg_ns).toFixed(2)}x` : "baseline";
    out.push(`| ${b.group} | ${b.name} | ${formatNs(b.avg_ns)} | ${ratio} |`);
  }
  out.push("", "## Scenarios", "");
  for (const [name, lines] of Object.entries(report.scenarios)) {
    out.push(`### ${name}`, "");
    for (const line of Array.isArray(lines) ? lines : [lines]) {
      for (const [key, value] of flatten(line as Record<string, unknown>)) {
        out.push(`- ${key}: ${value}`);
      }
      out.push("");
    }
  }
  return out.join("\n");
}

function flatten(value: Record<string, unknown>, prefix = ""): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [key, v] of Object.entries(value)) {
    if (key === "bench") continue;
    if (v && typeof v === "object" && !Array.isArray(v)) {
      out.push(...flatten(v as Record<string, unknown>, `${prefix}${key}.`));
    } else out.push([`${prefix}${key}`, Array.isArray(v) ? JSON.stringify(v) : v]);
  }
  return out;
}

function formatNs(ns: number): string {
  return ns >= 1e6
    ? `${(ns / 1e6).toFixed(2)} ms`
    : ns >= 1e3
    ? `${(ns / 1e3).toFixed(1)} µs`
    : `${ns} ns`;
}
