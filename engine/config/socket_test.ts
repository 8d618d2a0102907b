import assert from "node:assert/strict";
import { join } from "node:path";
import { socketOfConfig } from "./socket.ts";
import { ConfigError, loadConfig } from "./load.ts";

/** The lines of the ConfigError `fn` throws. */
async function errorLines(fn: () => Promise<unknown>): Promise<string[]> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.lines;
  }
  throw new Error("no error");
}

const ENV: Record<string, string> = { DATA: "/var/lib/lj", SOCK: "ctl.sock", EMPTY: "" };
const env = (name: string) => ENV[name];

Deno.test("socketOfConfig finds the socket the full loader finds, for every way of writing it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-socket-" });
  await Deno.mkdir(join(dir, "sub"));
  const engines = [
    "",
    "engine: {}\n",
    "engine:\n",
    "engine: { data_dir: ./data }\n",
    "engine: { data_dir: ../elsewhere }\n",
    "engine: { data_dir: /srv/lj }\n",
    "engine: { socket: /run/lj.sock }\n",
    "engine: { data_dir: ./d, socket: run/lj.sock }\n",
    'engine: { data_dir: "${DATA}" }\n',
    'engine: { data_dir: "${DATA}", socket: "${SOCK}" }\n',
    'engine: { data_dir: "${NOPE:-./fallback}", socket: "${EMPTY:-x.sock}" }\n',
    "engine: { data_dir: 42 }\n",
    "engine: { shard_count: 2, data_dir: ./d }\n",
  ];
  for (const [i, text] of engines.entries()) {
    for (const file of [join(dir, `c${i}.yaml`), join(dir, "sub", `c${i}.yaml`)]) {
      await Deno.writeTextFile(file, text);
      const full = (await loadConfig(file, env)).engine.socket;
      assert.equal(await socketOfConfig(file, env), full, `${JSON.stringify(text)} in ${file}`);
    }
  }
  // A relative file name: relative to the working directory, as for the full loader.
  const relative = join("sub", "c3.yaml");
  const cwd = Deno.cwd();
  Deno.chdir(dir);
  try {
    assert.equal(
      await socketOfConfig(relative, env),
      (await loadConfig(relative, env)).engine.socket,
    );
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test("socketOfConfig fails with the full loader's lines for a missing file, bad YAML and a bad engine.socket or data_dir", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-socket-" });
  const cases = [
    undefined, // no file
    "engine: { data_dir: ./d\n",
    "engine: { data_dir: ${DATA} }\n",
    "engine:\n  data_dir: [a, b]\n",
    'engine:\n  socket: "${UNSET_VAR}"\n',
    'engine:\n  data_dir: ""\n  socket: "${UNSET_VAR}"\n',
    "engine: { data_dir: ./d }\nengine: { data_dir: ./e }\n",
  ];
  for (const [i, text] of cases.entries()) {
    const file = join(dir, `bad${i}.yaml`);
    if (text !== undefined) await Deno.writeTextFile(file, text);
    const full = await errorLines(() => loadConfig(file, env)).catch((e) => {
      throw new Error(`${text}: ${e}`);
    });
    assert.deepEqual(await errorLines(() => socketOfConfig(file, env)), full, String(text));
  }
});

Deno.test("socketOfConfig reads only the engine's paths: a mistake elsewhere does not stop it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-socket-" });
  const file = join(dir, "litejoin.yaml");
  await Deno.writeTextFile(
    file,
    "engine: { data_dir: ./d, shard_count: 0 }\njoins:\n  - { name: j, key: k, sql: NOT SQL, sinks: [x] }\n",
  );
  await assert.rejects(loadConfig(file, env), ConfigError);
  assert.equal(await socketOfConfig(file, env), join(dir, "d", "litejoin.sock"));
});

Deno.test("socketOfConfig refuses a file that is not shaped as a config in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "litejoin-socket-" });
  for (
    const [text, line] of [
      ["- a\n- b\n", "1:1: expected a mapping"],
      ["engine: ./data\n", "1:9: engine: expected a mapping"],
    ]
  ) {
    const file = join(dir, "odd.yaml");
    await Deno.writeTextFile(file, text);
    assert.deepEqual(await errorLines(() => socketOfConfig(file, env)), [
      `${file}:${line} (litejoin validate -c ${file} says what the config should look like)`,
    ]);
  }
});
