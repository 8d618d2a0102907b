/** The engine's HTTP listener as `http` in the config describes it. */
import type { Config } from "../config/load.ts";
import { resolvePath } from "../config/load.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Clock } from "../types.ts";
import { Authenticator } from "./auth.ts";
import { Cors } from "./cors.ts";
import { HttpServer } from "./server.ts";
import { staticFiles } from "./static.ts";

/** The listener with its auth, TLS, limits, CORS and static files (routes come later). */
export function httpServerOf(
  config: Config,
  opts: { log: Logger; clock: Clock; metrics: Metrics },
): HttpServer {
  const { auth, tls, limits, cors } = config.http;
  const http = new HttpServer(opts.log, {
    auth: new Authenticator(auth, opts),
    limits,
    metrics: opts.metrics,
    tls: tls && {
      certFile: resolvePath(config, tls.cert_file),
      keyFile: resolvePath(config, tls.key_file),
      watch: tls.watch,
    },
  });
  if (cors.origins.length) http.useCors(new Cors(cors));
  for (const files of config.http.static) {
    http.mount(files.path, staticFiles(resolvePath(config, files.dir), files.path), "read");
  }
  return http;
}
