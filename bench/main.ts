/**
 * Runs every end-to-end benchmark in bench/ one after another (each prints one JSON
 * line) and writes them together to bench/report.json.
 *
 *   deno task bench [name ...]
 */
const here = new URL(".", import.meta.url).pathname;
const all = [...Deno.readDirSync(here)]
  .filter((e) =>
    e.isFile && e.name.endsWith(".ts") && !e.name.startsWith("_") && e.name !== "main.ts" &&
    !e.name.endsWith("_bench.ts")
  )
  .map((e) => e.name.replace(/\.ts$/, ""))
  .sort();
const chosen = Deno.args.length ? Deno.args : all;
const report: Record<string, unknown> = { date: new Date().toISOString(), results: {} };
for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`no benchmark named ${name} (have: ${all.join(", ")})`);
    Deno.exit(2);
  }
  console.error(`bench ${name} …`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${here}${name}.ts`],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n").filter((l) =>
    l.startsWith("{")
  );
  for (const line of lines) console.log(line);
  (report.results as Record<string, unknown>)[name] = out.success
    ? lines.map((l) => JSON.parse(l))
    : { error: `exited with ${out.code}` };
}
await Deno.writeTextFile(`${here}report.json`, JSON.stringify(report, null, 2) + "\n");
console.error(`wrote ${here}report.json`);
