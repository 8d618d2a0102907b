/** Every source type: its config spec and how to build it. A new type is a new entry. */
import type { Schema } from "../schema/schema.ts";
import type { Source, SourceContext } from "./source.ts";
import * as http from "./http.ts";
import * as generate from "./generate.ts";
import * as api from "./api.ts";
import * as kafka from "./kafka.ts";

export interface SourceKind<C> {
  spec: Schema<C>;
  /** What a source of this type writes to, so the topic tables exist before it starts. */
  topic(config: C): string;
  create(name: string, config: C, ctx: SourceContext): Source;
}

const kind = <C>(k: SourceKind<C>) => k;

export const sourceKinds = {
  http: kind({
    spec: http.spec,
    topic: (c) => c.topic,
    create: (name, c, ctx) => new http.HttpSource(name, c, ctx),
  }),
  generate: kind({
    spec: generate.spec,
    topic: (c) => c.topic,
    create: (name, c, ctx) => new generate.GenerateSource(name, c, ctx),
  }),
  api: kind({
    spec: api.spec,
    topic: (c) => c.topic,
    create: (name, c, ctx) => new api.ApiSource(name, c, ctx),
  }),
  kafka: kind({
    spec: kafka.spec,
    topic: kafka.targetTopic,
    create: (name, c, ctx) => new kafka.KafkaSource(name, c, ctx),
  }),
};
