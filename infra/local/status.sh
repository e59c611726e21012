#!/usr/bin/env bash
# Health-checks the local infrastructure; exits non-zero if any requested component is down.
# Usage: bash infra/local/status.sh [-q] [kafka|minio|registry|postgres|all]...   (-q: no output, exit code only)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

quiet=0
if [ "${1:-}" = -q ]; then quiet=1; shift; fi
list="$(expand_components "$@")" || exit 1
mapfile -t wanted <<<"$list"

down=0
report() { # report <name> <address> <ok:0|1> <pid>
  local state=up
  [ "$3" = 0 ] || { state=DOWN; down=1; }
  [ "$quiet" = 1 ] || printf '%-20s %-5s %-28s %s\n' "$1" "$state" "$2" "${4:+pid $4}"
}
check() { "$@" >/dev/null 2>&1 && echo 0 || echo 1; }

for c in "${wanted[@]}"; do
  case "$c" in
    kafka) report kafka "$HOST:$KAFKA_PORT" "$(check kafka_healthy)" "$(live_pid kafka kafka.Kafka)" ;;
    minio) report minio "http://$HOST:$MINIO_PORT" "$(check minio_healthy)" "$(live_pid minio "$MINIO_BIN server")" ;;
    postgres) report postgres "$HOST:$PG_PORT" "$(check pg_healthy)" "$(live_pid postgres "postgres -D $PG_DATA")" ;;
    registry)
      for v in "${REGISTRY_VARIANTS[@]}"; do
        report "registry-$v" "$HOST:$(registry_port "$v")" "$(check registry_healthy "$v")" \
          "$(live_pid "registry-$v" "docker-registry serve $REGISTRY_DIR/$v/config.yml")"
      done
      ;;
  esac
done
exit "$down"
