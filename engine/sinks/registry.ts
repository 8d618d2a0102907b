/** Every sink type: its config spec and how to build it. A new type is a new entry. */
import type { Schema } from "../schema/schema.ts";
import type { Sink, SinkContext } from "./sink.ts";
import * as http from "./http.ts";
import * as sqlite from "./sqlite.ts";
import * as sse from "./sse.ts";
import * as kafka from "./kafka.ts";

export interface SinkKind<C> {
  spec: Schema<C>;
  create(name: string, config: C, ctx: SinkContext): Sink;
}

const kind = <C>(k: SinkKind<C>) => k;

export const sinkKinds = {
  http: kind({
    spec: http.spec,
    create: (name, c, ctx) =>
      new http.HttpSink(name, { ...c, ca_file: c.ca_file && ctx.resolvePath(c.ca_file) }),
  }),
  sqlite: kind({
    spec: sqlite.spec,
    create: (name, c, ctx) => new sqlite.SqliteSink(name, { ...c, path: ctx.resolvePath(c.path) }),
  }),
  sse: kind({ spec: sse.spec, create: (name, c, ctx) => new sse.SseSink(name, c, ctx) }),
  kafka: kind({ spec: kafka.spec, create: (name, c, ctx) => new kafka.KafkaSink(name, c, ctx) }),
};
