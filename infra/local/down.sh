#!/usr/bin/env bash
# Stops everything start.sh started. With --wipe also deletes the data (Kafka log dirs, MinIO
# objects, registry storage, the PostgreSQL cluster) but keeps the installed jars/binaries/keys.
# Usage: bash infra/local/down.sh [--wipe]
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=lib.sh
source "$here/lib.sh"
bash "$here/stop.sh" all
if [ "${1:-}" = --wipe ]; then
  log "wiping data under $CACHE"
  rm -rf "$CACHE/kafka/data" "$CACHE/minio-data" "$REGISTRY_DIR"/{anonymous,basic,token}/storage "$PG_DATA"
fi
