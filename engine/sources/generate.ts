/**
 * Synthetic messages at a steady rate, for demos and benchmarks. Each payload is
 * built from a template whose strings may hold `{{seq}}`, `{{mod N}}`,
 * `{{int A B}}`, `{{float A B}}`, `{{pick a b c}}`, `{{uuid}}` and `{{now}}`.
 * A string that is only `{{int …}}`, `{{float …}}`, `{{mod …}}`, `{{seq}}` or
 * `{{now}}` becomes a number.
 */
import { any, type Infer, integer, number, object } from "../schema/schema.ts";
import { dottedPath } from "../schema/common.ts";
import { topicName } from "../store/topics.ts";
import { getPath, keyOf } from "../paths.ts";
import { BacklogError } from "../store/writer.ts";
import type { Message } from "../types.ts";
import type { Source, SourceContext } from "./source.ts";

const EXPRESSION = /\{\{\s*([a-z]+)((?:\s+[^\s}]+)*)\s*\}\}/g;
const FUNCTIONS: Record<string, number> = {
  seq: 0,
  now: 0,
  uuid: 0,
  mod: 1,
  int: 2,
  float: 2,
  pick: -1,
};

function templateProblem(template: unknown): string | undefined {
  if (typeof template === "string") {
    for (const [, fn, rest] of template.matchAll(EXPRESSION)) {
      const args = rest.trim() ? rest.trim().split(/\s+/) : [];
      const arity = FUNCTIONS[fn];
      if (arity === undefined) {
        return `unknown template function {{${fn}}}; use one of ${
          Object.keys(FUNCTIONS).join(", ")
        }`;
      }
      if (arity >= 0 && args.length !== arity) return `{{${fn}}} takes ${arity} argument(s)`;
      if (arity < 0 && args.length === 0) return `{{${fn}}} needs at least one choice`;
      if (fn !== "pick" && args.some((a) => !Number.isFinite(Number(a)))) {
        return `{{${fn}}} takes numbers`;
      }
    }
    return undefined;
  }
  if (template && typeof template === "object") {
    for (const value of Object.values(template)) {
      const problem = templateProblem(value);
      if (problem) return problem;
    }
  }
  return undefined;
}

export const spec = object({
  topic: topicName().describe("Topic the messages are written to."),
  key: dottedPath().default("id").describe("Dotted path of the key in the generated payload."),
  rate: number({ min: 0.001, max: 1_000_000 }).default(10).describe("Messages per second."),
  count: integer({ min: 1 }).optional().describe("Stop after this many messages (default: never)."),
  seed: integer().optional().describe("Seed for the random functions, for repeatable data."),
  template: any().default({ id: "{{seq}}" }).check((t) =>
    t && typeof t === "object" && !Array.isArray(t)
      ? templateProblem(t)
      : "must be a mapping from payload field to value"
  ).describe(
    "Payload template. Strings may hold {{seq}}, {{mod N}}, {{int A B}}, {{float A B}}, " +
      "{{pick a b c}}, {{uuid}}, {{now}}; a string that is only a numeric function becomes a number.",
    { id: "order-{{seq}}", amount: "{{int 1 500}}" },
  ),
});

export type GenerateSourceConfig = Infer<typeof spec>;

/** A small seeded PRNG (mulberry32) so that `seed` gives repeatable data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills a template for message number `seq`. */
export function render(
  template: unknown,
  seq: number,
  random: () => number,
  now: number,
): unknown {
  if (typeof template === "string") {
    const call = (fn: string, rest: string): string | number => {
      const args = rest.trim() ? rest.trim().split(/\s+/) : [];
      const [a, b] = args.map(Number);
      switch (fn) {
        case "seq":
          return seq;
        case "now":
          return now;
        case "mod":
          return seq % a;
        case "int":
          return a + Math.floor(random() * (b - a + 1));
        case "float":
          return Math.round((a + random() * (b - a)) * 100) / 100;
        case "pick":
          return args[Math.floor(random() * args.length)];
        default:
          return crypto.randomUUID();
      }
    };
    const whole = /^\{\{\s*(seq|now|mod|int|float)((?:\s+[^\s}]+)*)\s*\}\}$/.exec(template);
    if (whole) return call(whole[1], whole[2]);
    return template.replace(EXPRESSION, (_, fn: string, rest: string) => String(call(fn, rest)));
  }
  if (Array.isArray(template)) return template.map((t) => render(t, seq, random, now));
  if (template && typeof template === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template)) out[k] = render(v, seq, random, now);
    return out;
  }
  return template;
}

const TICK_MS = 20;

export class GenerateSource implements Source {
  #seq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  readonly #random: () => number;
  readonly #messages;

  constructor(
    readonly name: string,
    readonly config: GenerateSourceConfig,
    readonly ctx: SourceContext,
  ) {
    this.#random = config.seed === undefined ? Math.random : seededRandom(config.seed);
    this.#messages = ctx.metrics.counter(
      "litejoin_source_messages_total",
      "Messages committed to topics, by source.",
    ).bind({ source: name });
  }

  start(): Promise<void> {
    // The sequence continues across restarts, so keys keep moving forward.
    this.#seq = Number(this.ctx.meta.get(`source:${this.name}`, "seq") ?? 0);
    this.ctx.log.info(`generating ${this.config.rate}/s into topic ${this.config.topic}`);
    let last = this.ctx.clock.now();
    let owed = 0;
    const tick = async () => {
      const now = this.ctx.clock.now();
      owed += ((now - last) / 1000) * this.config.rate;
      last = now;
      const due = Math.floor(owed);
      const remaining = this.config.count === undefined
        ? due
        : Math.min(due, this.config.count - this.#seq);
      if (remaining > 0) {
        owed -= remaining;
        await this.#emit(remaining, now);
      }
      if (this.#stopped || (this.config.count !== undefined && this.#seq >= this.config.count)) {
        return;
      }
      this.#timer = setTimeout(() => this.#running = tick(), TICK_MS);
    };
    this.#timer = setTimeout(() => this.#running = tick(), TICK_MS);
    return Promise.resolve();
  }

  async #emit(n: number, now: number): Promise<void> {
    const messages: Message[] = [];
    let seq = this.#seq;
    for (let i = 0; i < n; i++) {
      seq++;
      const payload = render(this.config.template, seq, this.#random, now) as Record<
        string,
        unknown
      >;
      const key = keyOf(getPath(payload, this.config.key)) ?? String(seq);
      messages.push({ topic: this.config.topic, key, payload, timestamp: now });
    }
    try {
      await this.ctx.writer.write(messages);
    } catch (error) {
      if (!(error instanceof BacklogError)) {
        this.ctx.log.warn(
          `messages not stored, will generate new ones: ${(error as Error).message}`,
        );
      }
      return;
    }
    this.#seq = seq;
    this.ctx.meta.set(`source:${this.name}`, "seq", String(seq));
    this.#messages.inc(n);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
