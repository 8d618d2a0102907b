#!/bin/sh
# The container's entry: runs `litejoin run`, under `litestream replicate -exec` when
# the config asks for sidecar replication (restoring missing databases first), so
# Litestream forwards signals to LiteJoin and syncs once more when it stops.
# In embedded mode the engine runs Litestream itself; with replication off, neither runs.
set -eu
CONFIG="${LITEJOIN_CONFIG:-/etc/litejoin/litejoin.yaml}"

if [ "$#" -gt 0 ]; then
  exec litejoin "$@" # e.g. `docker run … image dlq stats`, `… image tui`
fi

case "$(litejoin replication mode -c "$CONFIG")" in
  sidecar)
    export CONFIG LITEJOIN=litejoin LITESTREAM=litestream
    export LITESTREAM_CONFIG="${LITESTREAM_CONFIG:-/tmp/litestream.yml}"
    exec "${LITEJOIN_RUN_SH:-/usr/local/share/litejoin/run.sh}"
    ;;
  *)
    exec litejoin run -c "$CONFIG"
    ;;
esac
