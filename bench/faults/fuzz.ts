/**
 * Bad input fuzzing of the HTTP source: many random bodies from a seeded PRNG (random
 * bytes, truncated and deeply nested JSON, huge numbers, wrong types, invalid UTF-8,
 * NDJSON, wrong content types, oversize bodies, odd methods and headers). Every
 * answer must be a 202 or a 4xx with a one-line JSON error, never a 5xx; the engine
 * stays up and logs no stack trace; afterwards a valid message is accepted and its
 * join result delivered (so nothing stored by the fuzz broke the join).
 */
import { seededRandom } from "../../engine/sources/generate.ts";
import { startReceiver } from "../../tests/_helpers.ts";
import { spawnEngine } from "../../tests/_process.ts";
import { metrics, total } from "../_observe.ts";
import {
  alive,
  check,
  type Drill,
  healthz,
  logTail,
  type Outcome,
  stackTraces,
  stopEngine,
  until,
  writeConfig,
} from "./_drill.ts";

const MAX_BODY = 256 * 1024;

/** A seeded generator (the generate source's), so a fuzz run replays from its seed. */
export function prng(seed: number) {
  const next = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

/** One request to send. */
interface Case {
  kind: string;
  method?: string;
  path?: string;
  headers: Record<string, string>;
  body?: Uint8Array<ArrayBuffer> | string | ReadableStream<Uint8Array<ArrayBuffer>>;
}

const utf8 = new TextEncoder();
const JSON_TYPE = { "content-type": "application/json" };

function randomValue(rng: Rng, depth = 0): unknown {
  const kind = rng.int(0, depth > 3 ? 4 : 6);
  switch (kind) {
    case 0:
      return rng.int(-1e6, 1e6);
    case 1:
      return rng.next() * 1e6;
    case 2:
      return rng.pick(["", "a", "ü", "😀", "\u0000", "\\", '"', "x".repeat(rng.int(0, 300))]);
    case 3:
      return rng.pick([true, false, null]);
    case 4:
      return rng.int(0, 9);
    case 5:
      return Array.from({ length: rng.int(0, 4) }, () => randomValue(rng, depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: rng.int(0, 4) }, (_, i) => [`f${i}`, randomValue(rng, depth + 1)]),
      );
  }
}

function validItem(rng: Rng, n: number): Record<string, unknown> {
  return { id: `fz-${n}`, n, v: randomValue(rng) };
}

function nested(depth: number, object: boolean, inner = "1"): string {
  return object
    ? '{"a":'.repeat(depth) + inner + "}".repeat(depth)
    : "[".repeat(depth) + inner + "]".repeat(depth);
}

const HUGE = [
  "1e400",
  "-1e400",
  "1e-400",
  "123456789012345678901234567890123456789",
  "9007199254740993",
  "-0",
  "0.0000000000000000000000000000000000001",
  "1" + "0".repeat(5000),
];

const WRONG_TYPES = [
  "null",
  "true",
  "42",
  '"a string"',
  "[]",
  "[1,2,3]",
  "[[]]",
  "[{}]",
  '[{"id":"ok-1"}, 7]',
  '{"id":null}',
  '{"id":true}',
  '{"id":{}}',
  '{"id":[]}',
  '{"id":""}',
  '{"id":1.5e300}',
  '{"id":{"nested":"x"}}',
  '{"nope":"no id"}',
  "{}",
];

const BAD_UTF8 = [[0xff], [0xc3, 0x28], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [
  0xf4,
  0x90,
  0x80,
  0x80,
]];

const CONTENT_TYPES = [
  "text/plain",
  "application/xml",
  "multipart/form-data; boundary=x",
  "application/x-www-form-urlencoded",
  "application/json; charset=utf-16",
  "APPLICATION/JSON",
  "application/json;;;",
  "json",
  "*/*",
  "application/x-ndjson; charset=utf-8",
];

/** Builds case number `n`. */
function makeCase(rng: Rng, n: number): Case {
  const kind = rng.pick([
    "random bytes",
    "truncated JSON",
    "deep nesting",
    "huge numbers",
    "wrong types",
    "invalid UTF-8",
    "content type",
    "oversize",
    "NDJSON",
    "odd keys",
    "valid",
    "method",
    "key header",
  ]);
  switch (kind) {
    case "random bytes": {
      const bytes = new Uint8Array(rng.int(0, 4096));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(0, 255);
      return { kind, headers: { ...JSON_TYPE }, body: bytes };
    }
    case "truncated JSON": {
      const text = JSON.stringify(Array.from({ length: rng.int(1, 5) }, () => validItem(rng, n)));
      return { kind, headers: { ...JSON_TYPE }, body: text.slice(0, rng.int(0, text.length - 1)) };
    }
    case "deep nesting": {
      const depth = rng.pick([10, 500, 998, 999, 1000, 1001, 5000, 100_000]);
      const object = rng.next() < 0.5;
      const style = rng.int(0, 2);
      const body = style === 0
        ? nested(depth, object) // the whole body
        : style === 1
        ? `{"id":"deep-${n}","x":${nested(depth, object)}}` // inside a message
        : `{"id":"deep-${n}","x":${nested(depth, object)}`.slice(0, -rng.int(1, 50)); // truncated
      return { kind, headers: { ...JSON_TYPE }, body };
    }
    case "huge numbers": {
      const a = rng.pick(HUGE);
      const body = rng.next() < 0.5
        ? `{"id":${a},"n":${rng.pick(HUGE)}}`
        : `{"id":"h-${n}","n":${a}}`;
      return { kind, headers: { ...JSON_TYPE }, body };
    }
    case "wrong types":
      return { kind, headers: { ...JSON_TYPE }, body: rng.pick(WRONG_TYPES) };
    case "invalid UTF-8": {
      const bad = rng.pick(BAD_UTF8);
      const before = utf8.encode(`{"id":"u-${n}","s":"`);
      const after = utf8.encode(`"}`);
      const inKey = rng.next() < 0.3;
      const parts = inKey ? [utf8.encode(`{"id":"`), bad, after] : [before, bad, after];
      if (rng.next() < 0.2) {
        parts.splice(0, parts.length, utf8.encode(`{"id":"s-${n}","s":"\\ud800"}`));
      }
      const body = new Uint8Array(parts.reduce((l, p) => l + p.length, 0));
      let at = 0;
      for (const p of parts) body.set(p, (at += p.length) - p.length);
      return { kind, headers: { ...JSON_TYPE }, body };
    }
    case "content type":
      return {
        kind,
        headers: { "content-type": rng.pick(CONTENT_TYPES) },
        body: JSON.stringify(validItem(rng, n)),
      };
    case "oversize": {
      const size = MAX_BODY + rng.int(1, 200_000);
      if (rng.next() < 0.5) return { kind, headers: { ...JSON_TYPE }, body: "x".repeat(size) };
      // Streamed, without content-length: the source must stop reading at the limit.
      const chunk = utf8.encode(`{"id":"big-${n}","pad":"` + "y".repeat(16 * 1024));
      let left = Math.ceil(size / chunk.length);
      const stream = new ReadableStream<Uint8Array<ArrayBuffer>>({
        pull(controller) {
          if (left-- > 0) controller.enqueue(chunk);
          else controller.close();
        },
      });
      return { kind: "oversize (streamed)", headers: { ...JSON_TYPE }, body: stream };
    }
    case "NDJSON": {
      const lines = Array.from({ length: rng.int(1, 8) }, (_, i) =>
        rng.pick([
          JSON.stringify(validItem(rng, n * 100 + i)),
          "",
          "   ",
          "{not json",
          "[1,2]",
          "null",
          JSON.stringify(validItem(rng, n * 100 + i)) + "\r",
        ]));
      return { kind, headers: { "content-type": "application/x-ndjson" }, body: lines.join("\n") };
    }
    case "odd keys": {
      const body = rng.pick([
        `{"id":"dup-${n}","id":"dup2-${n}"}`,
        `{"__proto__":{"id":"proto"},"id":"p-${n}"}`,
        `{"constructor":{"prototype":{}},"id":"c-${n}"}`,
        `{"id":"${"k".repeat(rng.int(1000, 100_000))}"}`,
        `{"id":"nul\\u0000-${n}"}`,
        `{"id":"emoji-😀-${n}"}`,
        `{"id":${rng.int(-1e9, 1e9)}}`,
        ` \n\t{"id":"ws-${n}"}\n `,
        `{"id":"bom-${n}"}`.padStart(20, "\ufeff"),
        "",
      ]);
      return { kind, headers: { ...JSON_TYPE }, body };
    }
    case "valid": {
      const items = Array.from({ length: rng.int(1, 20) }, (_, i) => validItem(rng, n * 100 + i));
      return { kind, headers: { ...JSON_TYPE }, body: JSON.stringify(items) };
    }
    case "method":
      return {
        kind,
        method: rng.pick(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]),
        path: rng.pick(["/in", "/in/", "/nope", "/in?x=1"]),
        headers: {},
      };
    default: {
      const value = rng.pick(["", " ", "k-" + n, "x".repeat(8000), "a,b", "é"]);
      const headers: Record<string, string> = { ...JSON_TYPE };
      if (rng.next() < 0.8) headers["x-key"] = value;
      return { kind, path: "/by-header", headers, body: JSON.stringify({ n }) };
    }
  }
}

export function fuzzDrill(seed: number, count: number): Drill {
  return {
    name: "bad input fuzzing",
    async run(): Promise<Outcome> {
      const dir = await Deno.makeTempDir({ prefix: "litejoin-drill-fuzz-" });
      const receiver = await startReceiver();
      await writeConfig(
        dir,
        `engine: { data_dir: ./data, shard_count: 2 }
sources:
  - { name: in, type: http, path: /in, topic: events, key: id, max_body: ${MAX_BODY} }
  - { name: by_header, type: http, path: /by-header, topic: events, key_header: X-Key }
joins:
  - name: copy
    key: id
    sql: "SELECT key AS id, json_extract(payload, '$.n') AS n FROM events"
    sinks: [hook]
sinks:
  - { name: hook, type: http, url: "${receiver.url}" }
`,
      );
      const engine = await spawnEngine(dir);
      const rng = prng(seed);
      const byKind = new Map<string, Map<string, number>>();
      const bad: string[] = [];
      let unsent = 0;
      let next = 0;
      const worker = async () => {
        while (next < count) {
          const n = next++;
          const c = makeCase(rng, n);
          let status: number;
          let text: string;
          try {
            const response = await fetch(`${engine.url}${c.path ?? "/in"}`, {
              method: c.method ?? "POST",
              headers: c.headers,
              body: c.body,
            });
            status = response.status;
            text = await response.text();
          } catch (error) {
            // The client refused to send it (e.g. a header it will not encode), or the engine hung up.
            if (!(await alive(engine))) throw new Error(`the engine died on case ${n} (${c.kind})`);
            unsent++;
            bad.push(`case ${n} (${c.kind}): no answer: ${(error as Error).message}`);
            continue;
          }
          const problem = judge(status, text, c);
          const counts = byKind.get(c.kind) ?? new Map<string, number>();
          byKind.set(c.kind, counts);
          counts.set(String(status), (counts.get(String(status)) ?? 0) + 1);
          if (problem) bad.push(`case ${n} (${c.kind}): ${problem}`);
        }
      };
      try {
        await Promise.all([worker(), worker(), worker(), worker()]);
        const up = await alive(engine);
        const health = await healthz(engine.url);
        const final = await fetch(`${engine.url}/in`, {
          method: "POST",
          headers: JSON_TYPE,
          body: JSON.stringify({ id: "after-the-fuzz", n: 1 }),
        });
        const finalText = await final.text();
        const delivered = await until(
          () => receiver.results().some((r) => r.key === "after-the-fuzz"),
          20_000,
        );
        const failing = total(await metrics(engine.url), "litejoin_join_failing");
        const code = await stopEngine(engine);
        const traces = stackTraces(engine.log());
        const summary = [...byKind].map(([kind, counts]) =>
          `${kind} ${[...counts].map(([s, k]) => `${s}×${k}`).join("/")}`
        ).join("; ");
        console.error(`fuzz (seed ${seed}): ${summary}`);
        check(up, `the engine died during the fuzz:\n${engine.log()}`);
        check(bad.length === 0, `${bad.length} bad answers, e.g. ${bad.slice(0, 3).join(" | ")}`);
        check(health.startsWith("200"), `/healthz: ${health}`);
        check(final.status === 202, `a valid message afterwards: ${final.status} ${finalText}`);
        check(
          delivered,
          `the join did not deliver the valid message sent afterwards:\n${logTail(engine.log())}`,
        );
        check(failing === 0, `${failing} join(s) failing after the fuzz`);
        check(code === 0, `the engine exited with ${code} on SIGTERM`);
        check(traces.length === 0, `stack trace in the log: ${traces[0]}`);
        return {
          outcome: "pass",
          details: `seed ${seed}: ${count} requests, ${unsent} not sent by the client, ` +
            `${count2xx(byKind)} accepted, the rest 4xx with a JSON error; engine up, no stack ` +
            "trace; a valid message afterwards accepted and joined",
        };
      } finally {
        if (await alive(engine)) await stopEngine(engine);
        await receiver.stop();
        await Deno.remove(dir, { recursive: true });
      }
    },
  };
}

/** What is wrong with an answer, or undefined if it is a 202 or a 4xx JSON error. */
function judge(status: number, text: string, c: Case): string | undefined {
  if (status === 204 && c.method === "OPTIONS") return undefined;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    return `${status} with a body that is not JSON: ${text.slice(0, 100)}`;
  }
  if (status === 202) {
    return typeof body.accepted === "number" && body.accepted > 0
      ? undefined
      : `202 without a count: ${text.slice(0, 100)}`;
  }
  if (status < 400 || status >= 500) return `${status}: ${text.slice(0, 200)}`;
  if (typeof body.error !== "string" || body.error.includes("\n")) {
    return `${status} without a one-line error: ${text.slice(0, 100)}`;
  }
  return undefined;
}

function count2xx(byKind: Map<string, Map<string, number>>): number {
  let n = 0;
  for (const counts of byKind.values()) n += counts.get("202") ?? 0;
  return n;
}
