# syntax=docker/dockerfile:1
#
# LiteJoin in one image: the compiled `litejoin` binary, Litestream 0.3.13 and CA
# certificates on Debian slim, running as a non-root user with its data in a volume.
#
#   docker build -t litejoin .
#   docker run -p 8080:8080 -v litejoin-data:/var/lib/litejoin/data litejoin
#   docker run … -v ./my.yaml:/etc/litejoin/litejoin.yaml:ro litejoin      # your pipeline
#   docker exec -it <container> litejoin tui -c /etc/litejoin/litejoin.yaml  # the console
#
# With `replication: {enabled: true, mode: sidecar}` the engine runs under
# `litestream replicate -exec` after restoring missing databases (docker/entrypoint.sh);
# with `mode: embedded` the engine runs this image's litestream itself. Credentials come
# from the environment (LITESTREAM_ACCESS_KEY_ID / LITESTREAM_SECRET_ACCESS_KEY or AWS_*).
#
# The engine listens on 0.0.0.0:8080 here (LITEJOIN_LISTEN): every route is reachable by
# whoever reaches a published port. Mount a config with http.auth tokens (values from
# `-e`, e.g. token: "${LITEJOIN_READ_TOKEN}") and http.tls, or keep the port private;
# without http.auth the engine logs a warning at start (docs/security.md).

ARG DENO_VERSION=2.9.6

# ---- build: resolve npm packages from the lock file, compile one binary ----
FROM denoland/deno:debian-${DENO_VERSION} AS build
WORKDIR /src
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY . .
RUN deno task compile \
 && ./dist/litejoin --version \
 && cp node_modules/@flydotio/litestream-linux-x64/litestream /usr/local/bin/litestream \
 && litestream version

# ---- runtime ----
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/litejoin --create-home litejoin \
 && mkdir -p /var/lib/litejoin/data /etc/litejoin \
 && chown -R litejoin:litejoin /var/lib/litejoin
COPY --from=build /src/dist/litejoin /usr/local/bin/litejoin
COPY --from=build /usr/local/bin/litestream /usr/local/bin/litestream
COPY examples/run.sh /usr/local/share/litejoin/run.sh
COPY docker/entrypoint.sh /usr/local/bin/litejoin-entrypoint
COPY litejoin.yaml /etc/litejoin/litejoin.yaml

USER litejoin
WORKDIR /var/lib/litejoin
ENV LITEJOIN_CONFIG=/etc/litejoin/litejoin.yaml \
    LITEJOIN_DATA_DIR=/var/lib/litejoin/data \
    LITEJOIN_LISTEN=0.0.0.0:8080
VOLUME ["/var/lib/litejoin/data"]
EXPOSE 8080
# Liveness: /healthz, "the process is alive". Not /readyz: an orchestrator that
# replaces unhealthy containers would restart an engine whose disk is full, which does
# not help. Point load balancers and readiness probes at /readyz instead (docs/operations.md,
# liveness and readiness); `litejoin healthcheck --ready` asks it, e.g. for compose's depends_on.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["litejoin", "healthcheck", "-c", "/etc/litejoin/litejoin.yaml"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "litejoin-entrypoint"]
