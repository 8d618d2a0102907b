#!/usr/bin/env bash
# Sidecar replication: restore every database that is missing locally, then run
# LiteJoin as Litestream's child, so Litestream ships the WAL while it runs and syncs
# once more when it stops. Signals sent to this script reach LiteJoin through Litestream.
#
#   examples/run.sh                      # litejoin.yaml, litejoin and litestream from PATH
#   CONFIG=prod.yaml LITEJOIN="deno run -A cli/main.ts" examples/run.sh
set -euo pipefail

CONFIG="${CONFIG:-litejoin.yaml}"
LITEJOIN="${LITEJOIN:-litejoin}"
LITESTREAM="${LITESTREAM:-litestream}"
LITESTREAM_CONFIG="${LITESTREAM_CONFIG:-$(dirname "$CONFIG")/litestream.yml}"

# One entry per shard, meta.db and dlq.db, from the current config.
$LITEJOIN replication config -c "$CONFIG" > "$LITESTREAM_CONFIG"

# `litestream databases` prints a header, then "path replicas" per database.
"$LITESTREAM" databases -config "$LITESTREAM_CONFIG" | tail -n +2 | while read -r db _; do
  [ -e "$db" ] && continue
  mkdir -p "$(dirname "$db")"
  # Litestream's shadow state of a database that is gone must not outlive it.
  rm -rf "$(dirname "$db")/.$(basename "$db")-litestream"
  # Skips a database that was never replicated (a first start).
  "$LITESTREAM" restore -config "$LITESTREAM_CONFIG" -if-db-not-exists -if-replica-exists -o "$db" "$db"
done

exec "$LITESTREAM" replicate -config "$LITESTREAM_CONFIG" -exec "$LITEJOIN run -c $CONFIG"
