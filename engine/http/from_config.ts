/** The engine's HTTP listener as `http` in the config describes it. */
import type { HttpConfig } from "./spec.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Clock } from "../types.ts";
import { Authenticator } from "./auth.ts";
import { Cors } from "./cors.ts";
import { HttpServer } from "./server.ts";
import { staticFiles } from "./static.ts";

/**
 * The listener with its auth, TLS, limits, CORS and static files (routes come later);
 * `resolve` makes a path of the config absolute (relative to the config file).
 */
export function httpServerOf(
  config: HttpConfig,
  resolve: (path: string) => string,
  opts: { log: Logger; clock: Clock; metrics: Metrics },
): HttpServer {
  const { auth, tls, limits, cors } = config;
  const http = new HttpServer(opts.log, {
    auth: new Authenticator(auth, opts),
    limits,
    metrics: opts.metrics,
    tls: tls && {
      certFile: resolve(tls.cert_file),
      keyFile: resolve(tls.key_file),
      watch: tls.watch,
    },
  });
  if (cors.origins.length) http.useCors(new Cors(cors));
  for (const files of config.static) {
    http.mount(files.path, staticFiles(resolve(files.dir), files.path), "read");
  }
  return http;
}
