#!/usr/bin/env bash
# Stops components started by start.sh (by their pid files: TERM, then KILL after a grace period).
# Processes not started by these scripts are never touched.
# Usage: bash infra/local/stop.sh [kafka|minio|registry|postgres|all]...   (default: all)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

list="$(expand_components "$@")" || exit 1
mapfile -t wanted <<<"$list"
for c in "${wanted[@]}"; do
  case "$c" in
    kafka) stop_pid kafka kafka.Kafka 30 ;;
    minio) stop_pid minio "$MINIO_BIN server" 15 ;;
    # SIGINT is PostgreSQL's fast shutdown (TERM would wait for every client to disconnect)
    postgres) stop_pid postgres "postgres -D $PG_DATA" 30 INT ;;
    registry)
      for v in "${REGISTRY_VARIANTS[@]}"; do
        stop_pid "registry-$v" "docker-registry serve $REGISTRY_DIR/$v/config.yml" 10
      done
      ;;
  esac
done
