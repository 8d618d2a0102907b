/**
 * A small schema language for configuration: each field knows its type, default,
 * description and example, and parsing reports every problem with the YAML node it
 * came from, so errors carry `file:line:col`. One schema drives validation, defaults
 * and the config reference.
 */
import { isMap, isScalar, isSeq, type Node, Scalar, YAMLMap } from "yaml";
import { closest } from "./suggest.ts";

/** A problem found while parsing: where (byte offset into the file), which field, what. */
export interface Problem {
  offset: number;
  path: string;
  message: string;
}

/** Shared state of one parse: collected problems and the environment for `${VAR}`. */
export class Context {
  readonly problems: Problem[] = [];
  constructor(readonly env: (name: string) => string | undefined) {}

  report(at: At, message: string, node?: Node | null): void {
    const offset = node?.range?.[0] ?? at.offset;
    this.problems.push({ offset, path: at.path, message });
  }
}

/** Where a value sits: its dotted path and the offset to blame when it has no node. */
export interface At {
  ctx: Context;
  path: string;
  offset: number;
}

export function child(at: At, key: string | number, node?: Node | null): At {
  const path = typeof key === "number" ? `${at.path}[${key}]` : at.path ? `${at.path}.${key}` : key;
  return { ctx: at.ctx, path, offset: node?.range?.[0] ?? at.offset };
}

/** What the reference documentation says about a field. */
export interface FieldDoc {
  type: string;
  description?: string;
  example?: unknown;
  /** What the value is made of, for walking the schema (the config reference): read-only. */
  parts?: Parts;
}

/** The inner schemas of a structured value: an object's fields, a list's item, a map's value, a union's variants. */
export interface Parts {
  // deno-lint-ignore no-explicit-any
  fields?: Record<string, Schema<any>>;
  item?: Schema<unknown>;
  value?: Schema<unknown>;
  // deno-lint-ignore no-explicit-any
  variants?: Record<string, Schema<any>>;
}

/** Returned by a parse that has reported a problem. */
export const invalid: unique symbol = Symbol("invalid");
export type Invalid = typeof invalid;

/**
 * A schema for values of type T. `parse` returns the value, or `invalid` after
 * reporting why. A missing field uses the default, is `undefined` when optional,
 * or is reported as required.
 */
export class Schema<T> {
  constructor(
    readonly doc: FieldDoc,
    readonly read: (node: Node, at: At) => T | Invalid,
    readonly fallback: { value: T } | null = null,
    readonly isOptional = false,
    readonly checks: ((value: T) => string | undefined)[] = [],
  ) {}

  parse(node: Node | null | undefined, at: At): T | Invalid {
    if (node == null || (isScalar(node) && node.value === null && !this.acceptsNull())) {
      if (this.fallback) return this.fallback.value;
      if (this.isOptional) return undefined as T;
      at.ctx.report(at, `is required (${this.doc.type})`, node);
      return invalid;
    }
    const value = this.read(node, at);
    if (value === invalid) return invalid;
    for (const check of this.checks) {
      const message = check(value);
      if (message) {
        at.ctx.report(at, message, node);
        return invalid;
      }
    }
    return value;
  }

  private acceptsNull(): boolean {
    return this.doc.type === "any";
  }

  default(value: T): Schema<T> {
    return new Schema(this.doc, this.read, { value }, false, this.checks);
  }

  optional(): Schema<T | undefined> {
    return new Schema<T | undefined>(
      this.doc,
      this.read,
      null,
      true,
      this.checks as ((value: T | undefined) => string | undefined)[],
    );
  }

  describe(description: string, example?: unknown): Schema<T> {
    return new Schema(
      { ...this.doc, description, example },
      this.read,
      this.fallback,
      this.isOptional,
      this.checks,
    );
  }

  /** Adds a check: return a message to reject the value. */
  check(fn: (value: T) => string | undefined): Schema<T> {
    return new Schema(this.doc, this.read, this.fallback, this.isOptional, [...this.checks, fn]);
  }

  map<U>(fn: (value: T) => U, type = this.doc.type): Schema<U> {
    const read = (node: Node, at: At): U | Invalid => {
      const value = this.parse(node, at);
      return value === invalid ? invalid : fn(value);
    };
    return new Schema<U>({ ...this.doc, type }, read);
  }
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

// ---- scalars --------------------------------------------------------------

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** The scalar's value with `${VAR}` and `${VAR:-default}` replaced from the environment. */
export function scalar(node: Node, at: At): unknown | Invalid {
  if (!isScalar(node)) {
    at.ctx.report(at, `expected a single value, found ${describeNode(node)}`, node);
    return invalid;
  }
  const value = node.value;
  if (typeof value !== "string" || !value.includes("${")) return value;
  let missing: string | undefined;
  const text = value.replace(ENV_REF, (_, name: string, dflt?: string) => {
    const found = at.ctx.env(name);
    if (found !== undefined && found !== "") return found;
    if (dflt !== undefined) return dflt;
    missing ??= name;
    return "";
  });
  if (missing) {
    at.ctx.report(
      at,
      `environment variable ${missing} is not set (export it, or write \${${missing}:-default})`,
      node,
    );
    return invalid;
  }
  if (node.type !== Scalar.PLAIN) return text;
  // An unquoted `${PORT}` should read like the number it stands for.
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === "true" || text === "false") return text === "true";
  return text;
}

function describeNode(node: Node): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) return node.value === null ? "nothing" : JSON.stringify(node.value);
  return "something else";
}

export function string(opts: { pattern?: RegExp; hint?: string; nonEmpty?: boolean } = {}) {
  return new Schema<string>({ type: "string" }, (node, at) => {
    const value = scalar(node, at);
    if (value === invalid) return invalid;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    if (typeof value !== "string") {
      at.ctx.report(at, `expected a string, found ${describeNode(node)}`, node);
      return invalid;
    }
    if ((opts.nonEmpty ?? true) && value === "") {
      at.ctx.report(at, "must not be empty", node);
      return invalid;
    }
    if (opts.pattern && !opts.pattern.test(value)) {
      at.ctx.report(
        at,
        `${JSON.stringify(value)} ${opts.hint ?? `must match ${opts.pattern}`}`,
        node,
      );
      return invalid;
    }
    return value;
  });
}

export function number(opts: { min?: number; max?: number; integer?: boolean } = {}) {
  const type = opts.integer ? "integer" : "number";
  return new Schema<number>({ type }, (node, at) => {
    const value = scalar(node, at);
    if (value === invalid) return invalid;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      at.ctx.report(
        at,
        `expected ${type === "integer" ? "an integer" : "a number"}, found ${describeNode(node)}`,
        node,
      );
      return invalid;
    }
    if (opts.integer && !Number.isInteger(value)) {
      at.ctx.report(at, `expected an integer, found ${value}`, node);
      return invalid;
    }
    if (opts.min !== undefined && value < opts.min) {
      at.ctx.report(at, `must be at least ${opts.min}, found ${value}`, node);
      return invalid;
    }
    if (opts.max !== undefined && value > opts.max) {
      at.ctx.report(at, `must be at most ${opts.max}, found ${value}`, node);
      return invalid;
    }
    return value;
  });
}

export const integer = (opts: { min?: number; max?: number } = {}) =>
  number({ ...opts, integer: true });

export function boolean() {
  return new Schema<boolean>({ type: "boolean" }, (node, at) => {
    const value = scalar(node, at);
    if (value === invalid) return invalid;
    if (typeof value !== "boolean") {
      at.ctx.report(at, `expected true or false, found ${describeNode(node)}`, node);
      return invalid;
    }
    return value;
  });
}

export function oneOf<const V extends string>(values: readonly V[]) {
  return new Schema<V>({ type: values.join(" | ") }, (node, at) => {
    const value = scalar(node, at);
    if (value === invalid) return invalid;
    if (typeof value === "string" && (values as readonly string[]).includes(value)) {
      return value as V;
    }
    const guess = typeof value === "string" ? closest(value, values) : undefined;
    at.ctx.report(
      at,
      `${JSON.stringify(value)} is not one of ${values.join(", ")}${
        guess ? ` (did you mean "${guess}"?)` : ""
      }`,
      node,
    );
    return invalid;
  });
}

/** A scalar read by `parse`, which returns the value or a message saying what is wrong. */
export function custom<T>(type: string, parse: (raw: unknown) => T | { error: string }) {
  return new Schema<T>({ type }, (node, at) => {
    const raw = scalar(node, at);
    if (raw === invalid) return invalid;
    const value = parse(raw);
    if (value && typeof value === "object" && "error" in value) {
      at.ctx.report(at, (value as { error: string }).error, node);
      return invalid;
    }
    return value as T;
  });
}

/** Any YAML value, as plain data (for options passed through to a client library). */
export function any() {
  return new Schema<unknown>({ type: "any" }, (node, at) => plain(node, at));
}

function plain(node: Node, at: At): unknown {
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = String((pair.key as Scalar)?.value);
      out[key] = pair.value == null ? null : plain(pair.value as Node, child(at, key));
    }
    return out;
  }
  if (isSeq(node)) return node.items.map((item, i) => plain(item as Node, child(at, i)));
  const value = scalar(node, at);
  return value === invalid ? null : value;
}

// ---- structures -----------------------------------------------------------

// deno-lint-ignore no-explicit-any
type Fields = Record<string, Schema<any>>;
export type ObjectOf<F extends Fields> = { [K in keyof F]: Infer<F[K]> };

export interface ObjectSchema<F extends Fields> extends Schema<ObjectOf<F>> {
  fields: F;
}

/** A mapping with known fields; unknown keys are reported with a did-you-mean. */
export function object<F extends Fields>(fields: F): ObjectSchema<F> {
  const read = (node: Node, at: At): ObjectOf<F> | Invalid => {
    if (!isMap(node)) {
      at.ctx.report(at, `expected a mapping of ${Object.keys(fields).join(", ")}`, node);
      return invalid;
    }
    const seen = new Map<string, Node | null>();
    let ok = true;
    for (const pair of node.items) {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : "";
      if (!(key in fields)) {
        const guess = closest(key, Object.keys(fields));
        at.ctx.report(
          child(at, key, keyNode),
          `unknown field${
            guess ? ` (did you mean "${guess}"?)` : `; known: ${Object.keys(fields).join(", ")}`
          }`,
          keyNode,
        );
        ok = false;
        continue;
      }
      if (seen.has(key)) {
        at.ctx.report(child(at, key, keyNode), "is given twice", keyNode);
        ok = false;
      }
      seen.set(key, (pair.value as Node | null) ?? null);
    }
    const out: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(fields)) {
      const valueNode = seen.get(key);
      const value = schema.parse(valueNode, child(at, key, valueNode ?? node));
      if (value === invalid) ok = false;
      else if (value !== undefined) out[key] = value;
    }
    return ok ? out as ObjectOf<F> : invalid;
  };
  // A mapping whose fields all have defaults may be left out entirely.
  const probe = { ctx: new Context(() => undefined), path: "", offset: 0 };
  const empty = read(new YAMLMap(), probe);
  const fallback = empty === invalid ? null : { value: empty };
  const schema = new Schema<ObjectOf<F>>(
    { type: "mapping", parts: { fields } },
    read,
    fallback,
  ) as ObjectSchema<F>;
  schema.fields = fields;
  return schema;
}

/** A list whose items all follow `item`. */
export function list<T>(item: Schema<T>, opts: { min?: number } = {}) {
  const doc = { type: `list of ${item.doc.type}`, parts: { item: item as Schema<unknown> } };
  return new Schema<T[]>(doc, (node, at) => {
    if (!isSeq(node)) {
      at.ctx.report(at, `expected a list, found ${describeNode(node)}`, node);
      return invalid;
    }
    if (opts.min !== undefined && node.items.length < opts.min) {
      at.ctx.report(at, `needs at least ${opts.min} item(s)`, node);
      return invalid;
    }
    const out: T[] = [];
    let ok = true;
    node.items.forEach((itemNode, i) => {
      const value = item.parse(itemNode as Node, child(at, i, itemNode as Node));
      if (value === invalid) ok = false;
      else out.push(value);
    });
    return ok ? out : invalid;
  });
}

/** A mapping from free-form names to values of one schema (e.g. HTTP headers). */
export function record<T>(value: Schema<T>) {
  const doc = { type: `mapping of ${value.doc.type}`, parts: { value: value as Schema<unknown> } };
  return new Schema<Record<string, T>>(doc, (node, at) => {
    if (!isMap(node)) {
      at.ctx.report(at, `expected a mapping, found ${describeNode(node)}`, node);
      return invalid;
    }
    const out: Record<string, T> = {};
    let ok = true;
    for (const pair of node.items) {
      const key = String((pair.key as Scalar)?.value);
      const v = value.parse(pair.value as Node, child(at, key, pair.value as Node));
      if (v === invalid) ok = false;
      else out[key] = v;
    }
    return ok ? out : invalid;
  });
}

// deno-lint-ignore no-explicit-any
type Variants = Record<string, Schema<any>>;
export type UnionOf<C extends Fields, V extends Variants> = {
  [K in keyof V]: { type: K } & ObjectOf<C> & Infer<V[K]>;
}[keyof V];

/**
 * A mapping whose `type` field picks which fields apply, as for sources and sinks.
 * `common` fields (such as `name`) apply to every type.
 */
export function tagged<C extends Fields, V extends Variants>(
  common: C,
  variants: V,
): Schema<UnionOf<C, V>> & { variants: V } {
  const names = Object.keys(variants);
  const shared = object(common);
  const read = (node: Node, at: At): UnionOf<C, V> | Invalid => {
    if (!isMap(node)) {
      at.ctx.report(at, `expected a mapping with a type (${names.join(", ")})`, node);
      return invalid;
    }
    const typeNode = node.get("type", true) as Node | undefined;
    const type = oneOf(names).parse(typeNode, child(at, "type", typeNode ?? node));
    const own = new YAMLMap();
    const mine = new YAMLMap();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      if (key === "type") continue;
      (key in common ? mine : own).items.push(pair);
    }
    mine.range = own.range = node.range;
    const base = shared.parse(mine, at);
    if (type === invalid) return invalid;
    const value = variants[type].parse(own, at);
    if (value === invalid || base === invalid) return invalid;
    return { type, ...base, ...value } as UnionOf<C, V>;
  };
  const doc = { type: names.join(" | "), parts: { fields: common, variants } };
  const schema = new Schema<UnionOf<C, V>>(doc, read);
  return Object.assign(schema, { variants });
}
