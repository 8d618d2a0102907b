import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  CONFIG_DOC,
  formatDuration,
  formatSize,
  formatValue,
  generate,
  render,
  undocumented,
} from "./config_docs.ts";
import { checkLinks } from "./doc_links.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("docs/config.md is what the generator produces from the schema now", async () => {
  const committed = await Deno.readTextFile(CONFIG_DOC).catch(() => "");
  const fresh = await generate();
  assert.ok(committed === fresh, "docs/config.md is stale: run deno task docs");
});

Deno.test("every config field has a description", () => {
  assert.deepEqual(undocumented(), [], "give these fields a .describe() in their component's spec");
});

Deno.test("the reference has a section per top-level key and a table per source and sink type", () => {
  const md = render();
  for (const section of ["engine", "http", "sources", "joins", "windows", "sinks", "dlq"]) {
    assert.match(md, new RegExp(`^## \`${section}\`$`, "m"));
  }
  for (const type of ["http", "generate", "api", "kafka"]) {
    assert.match(md, new RegExp(`^### \`sources\`: \`type: ${type}\`$`, "m"));
  }
  for (const type of ["http", "sqlite", "sse", "kafka"]) {
    assert.match(md, new RegExp(`^### \`sinks\`: \`type: ${type}\`$`, "m"));
  }
  // A described mapping keeps its fields; a union inside a type gets a table per variant.
  assert.match(md, /\| `http.cors.origins` +\| `list of string` +\| `\[\]` /);
  assert.match(md, /^#### `pagination`: `type: cursor`$/m);
  assert.match(md, /\| `watermark` +\| mapping \(optional\) /);
  // Defaults are written as in the YAML file: units, not milliseconds or bytes.
  assert.match(md, /\| `engine.flush_interval` +\| `duration` +\| `10ms` /);
  assert.match(md, /\| `engine.retention` +\| `duration` +\| `24h` /);
  assert.match(md, /\| `http.listen` +\| `host:port` +\| `127.0.0.1:8080` /);
});

Deno.test("defaults are formatted as they would be written", () => {
  assert.equal(formatDuration(0), "0");
  assert.equal(formatDuration(250), "250ms");
  assert.equal(formatDuration(90_000), "90s");
  assert.equal(formatDuration(3_600_000), "1h");
  assert.equal(formatDuration(72 * 3_600_000), "72h");
  assert.equal(formatDuration(7 * 86_400_000), "7d");
  assert.equal(formatSize(4 * 2 ** 20), "4MiB");
  assert.equal(formatSize(1000), "1000");
  assert.equal(formatValue(["GET", "POST"], "list of string"), "[GET, POST]");
  assert.equal(formatValue({ hostname: "::1", port: 80 }, "host:port"), "[::1]:80");
  assert.equal(formatValue("", "string"), '""');
});

Deno.test("every relative link and #anchor in README.md and docs/*.md resolves", () => {
  const docs = readdirSync(`${ROOT}/docs`).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
  const read = (path: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  };
  const broken = checkLinks(ROOT, ["README.md", ...docs], read, existsSync);
  assert.deepEqual(
    broken.map((b) => `${b.file}:${b.line}: ${b.target}: ${b.problem}`),
    [],
    "fix these links",
  );
});

Deno.test("the README's short config passes litejoin validate", async () => {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const section = readme.slice(readme.indexOf("## A short config"));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml, "README.md has a yaml block under 'A short config'");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/litejoin.yaml`, yaml);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}/cli/main.ts`, "validate", "-c", `${dir}/litejoin.yaml`],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, out);
    assert.match(out, /ok \(2 sources, 1 join, 1 window, 2 sinks/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
