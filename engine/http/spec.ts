/** The `http` section of the config: the listener, CORS, static files, auth, TLS, limits. */
import { type Infer, list, object } from "../schema/schema.ts";
import { listen } from "../schema/units.ts";
import { corsSpec } from "./cors.ts";
import { staticSpec } from "./static.ts";
import { authSpec } from "./auth.ts";
import { tlsSpec } from "./tls.ts";
import { limitsSpec } from "./limits.ts";

export const httpSpec = object({
  listen: listen().default({ hostname: "127.0.0.1", port: 8080 }).describe(
    "Address of the one HTTP listener (sources, SSE, /healthz, /metrics). :8080 listens on all " +
      "interfaces; port 0 picks a free one.",
  ),
  cors: corsSpec.describe("Cross-origin access for browser pages served elsewhere."),
  static: list(staticSpec).default([]).describe(
    "Directories of static files served on the listener, e.g. a dashboard page.",
  ),
  auth: authSpec.describe(
    "Bearer tokens with scopes for every route but /healthz and /readyz (docs/security.md).",
  ),
  tls: tlsSpec.optional().describe("Serve HTTPS with this certificate and key."),
  limits: limitsSpec.describe("Timeouts, the connection cap and the default body limit."),
});

export type HttpConfig = Infer<typeof httpSpec>;
