#!/usr/bin/env bash
# Runs the Strata pipeline services (fetcher, analyzer ×N, merger, matcher, gateway, and the watcher
# when STRATA_WATCH_REGISTRIES is set) as background node processes on loopback, next to the Kafka and MinIO that start.sh runs. The bundles are built
# (esbuild, seconds) when missing or older than their sources.
# Usage: bash infra/local/services.sh start [--analyzers N] | stop | status | restart [--analyzers N]
# Settings (environment, all optional):
#   STRATA_DB            advisory folder for the matcher        (default <repo>/fixtures/advisories)
#   S3_BUCKET            bucket for blobs and documents         (default strata)
#   STRATA_TOPIC_PREFIX  prefix of topics and consumer groups   (default none)
#   STRATA_REGISTRY_CREDENTIALS  named registry credentials (JSON) for the fetcher
#   STRATA_LOG_LEVEL     pino level                             (default info)
#   STRATA_GATEWAY_PORT  gRPC port of the gateway               (default 50051)
#   GATEWAY_TOKEN        bearer token the gateway requires      (default none); also the web console's login
#   STRATA_CONSOLE_PORT  the gateway's web console (HTTP)       (default 18080; docs/console.md)
#   STRATA_WATCH_REGISTRIES  registries the watcher crawls (JSON); unset: no watcher, e.g.
#                        '[{"host":"127.0.0.1:15000","include":["strata/**"]}]'
#   STRATA_WATCH_INTERVAL_MS  pause between the watcher's passes  (default 300000)
#   STRATA_PG_URL        findings DB of every service: scan records, findings state, blob references,
#                        push dedup (default: infra/local's PostgreSQL when it is up; set it empty
#                        to keep all of it in the blob store, with no sweeper)
# Metrics/health: fetcher :19110, merger :19111, matcher :19112, gateway :19113, watcher :19114, analyzer i :1912i
# (/metrics, /healthz). gRPC: the gateway on 127.0.0.1:${STRATA_GATEWAY_PORT:-50051}; its web console on
# http://127.0.0.1:${STRATA_CONSOLE_PORT:-18080} (the UI bundle is built when missing or older than its sources).
# Logs: $STRATA_INFRA_CACHE/logs/strata-<name>.log; pids: $STRATA_INFRA_CACHE/run/strata-<name>.pid
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=../../tools/node-env.sh
STRATA_NODE_QUIET=1 source "$INFRA_DIR/../../tools/node-env.sh"

ROOT="$(cd "$INFRA_DIR/../.." && pwd)"
SERVICES=(fetcher merger matcher gateway)
# The watcher is a singleton and only runs with registries to watch.
[ -n "${STRATA_WATCH_REGISTRIES:-}" ] && SERVICES+=(watcher)
FETCHER_PORT=19110
MERGER_PORT=19111
MATCHER_PORT=19112
GATEWAY_METRICS_PORT=19113
WATCHER_PORT=19114
ANALYZER_BASE_PORT=19120

cmd="${1:-status}"
shift || true
analyzers=1
while [ $# -gt 0 ]; do
  case "$1" in
    --analyzers) analyzers="${2:?--analyzers needs a number}"; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
[[ "$analyzers" =~ ^[1-9]$ ]] || die "--analyzers must be 1..9"

bundle() { echo "$ROOT/services/$1/dist/main.mjs"; }
port_of() {
  case "$1" in
    fetcher) echo "$FETCHER_PORT" ;;
    merger) echo "$MERGER_PORT" ;;
    matcher) echo "$MATCHER_PORT" ;;
    gateway) echo "$GATEWAY_METRICS_PORT" ;;
    watcher) echo "$WATCHER_PORT" ;;
    analyzer-*) echo $((ANALYZER_BASE_PORT + ${1#analyzer-})) ;;
  esac
}
kind_of() { echo "${1%%-*}"; }

build_if_needed() {
  local svc="$1" out newest
  out="$(bundle "$svc")"
  newest="$(find "$ROOT/services/$svc/src" "$ROOT/libs" -name '*.ts' -newer "$out" -print -quit 2>/dev/null || true)"
  if [ ! -f "$out" ] || [ -n "$newest" ]; then
    log "strata-$svc: bundling $out"
    (cd "$ROOT/services/$svc" && node ../../tools/bundle.mjs src/main.ts dist/main.mjs)
  fi
  # The gateway serves the console's static files (services/gateway/console-ui/dist).
  if [ "$svc" = gateway ]; then
    local ui="$ROOT/services/gateway/console-ui"
    if [ ! -f "$ui/dist/index.html" ] || [ -n "$(find "$ui/src" "$ROOT/services/gateway/src/console/api.ts" -newer "$ui/dist/index.html" -print -quit 2>/dev/null)" ]; then
      log "strata-gateway: building the console UI into $ui/dist"
      node "$ui/build.mjs" >/dev/null
    fi
  fi
}

service_healthy() { curl -fsS -m 3 -o /dev/null "http://$HOST:$1/healthz" 2>/dev/null; }

instances() {
  local i out=("${SERVICES[@]}")
  for ((i = 1; i <= analyzers; i++)); do out+=("analyzer-$i"); done
  printf '%s\n' "${out[@]}"
}

# Every instance that has a pid file, whatever --analyzers says now.
known_instances() {
  local f
  for f in "$RUN_DIR"/strata-*.pid; do
    [ -e "$f" ] || continue
    f="${f##*/strata-}"
    echo "${f%.pid}"
  done
}

start_one() {
  local name="$1" kind port pid
  kind="$(kind_of "$name")"
  port="$(port_of "$name")"
  pid="$(live_pid "strata-$name" "$(bundle "$kind")")"
  if [ -n "$pid" ]; then
    log "strata-$name: already running (pid $pid)"
    return 0
  fi
  port_open "$HOST" "$port" && die "strata-$name: port $HOST:$port is taken by another process"
  log "strata-$name: starting (metrics http://$HOST:$port/metrics)"
  spawn "strata-$name" env \
    KAFKA_BROKERS="$HOST:$KAFKA_PORT" \
    KAFKA_CLIENT_ID="strata-$name" \
    S3_ENDPOINT="http://$HOST:$MINIO_PORT" \
    S3_ACCESS_KEY="$MINIO_USER" \
    S3_SECRET_KEY="$MINIO_PASSWORD" \
    S3_BUCKET="${S3_BUCKET:-strata}" \
    STRATA_DB="${STRATA_DB:-$ROOT/fixtures/advisories}" \
    STRATA_TOPIC_PREFIX="${STRATA_TOPIC_PREFIX:-}" \
    STRATA_LOG_LEVEL="${STRATA_LOG_LEVEL:-info}" \
    METRICS_HOST="$HOST" \
    METRICS_PORT="$port" \
    GATEWAY_HOST="$HOST" \
    GATEWAY_PORT="${STRATA_GATEWAY_PORT:-50051}" \
    GATEWAY_TOKEN="${GATEWAY_TOKEN:-}" \
    GATEWAY_CONSOLE_HOST="$HOST" \
    GATEWAY_CONSOLE_PORT="${STRATA_CONSOLE_PORT:-18080}" \
    STRATA_PG_URL="${STRATA_PG_URL:-}" \
    node "$(bundle "$kind")"
  wait_healthy "strata-$name" "http://$HOST:$port/healthz" 90 "$(cat "$(pid_file "strata-$name")")" "$LOG_DIR/strata-$name.log" service_healthy "$port"
}

case "$cmd" in
  start)
    bash "$INFRA_DIR/status.sh" -q kafka minio || die "Kafka and MinIO must be up first: bash infra/local/up.sh"
    command -v node >/dev/null || die "node not found"
    if [ -z "${STRATA_PG_URL+set}" ]; then
      if pg_healthy; then
        STRATA_PG_URL="$(pg_url)"
      else
        log "postgres is not up (bash infra/local/start.sh postgres): the findings state stays in the blob store"
      fi
    fi
    for svc in fetcher analyzer merger matcher gateway; do build_if_needed "$svc"; done
    [ -n "${STRATA_WATCH_REGISTRIES:-}" ] && build_if_needed watcher
    mapfile -t wanted < <(instances)
    for name in "${wanted[@]}"; do start_one "$name"; done
    log "web console: http://$HOST:${STRATA_CONSOLE_PORT:-18080}/${GATEWAY_TOKEN:+ (log in with GATEWAY_TOKEN)}"
    ;;
  stop)
    mapfile -t running < <(known_instances)
    # Upstream first, so nothing new reaches the later stages while they drain.
    for name in watcher gateway fetcher $(printf '%s\n' "${running[@]}" | grep '^analyzer-' || true) merger matcher; do
      stop_pid "strata-$name" "$(bundle "$(kind_of "$name")")" 30
    done
    ;;
  restart)
    bash "$0" stop
    bash "$0" start --analyzers "$analyzers"
    ;;
  status)
    mapfile -t names < <( (instances; known_instances) | sort -u)
    down=0
    for name in "${names[@]}"; do
      port="$(port_of "$name")"
      pid="$(live_pid "strata-$name" "$(bundle "$(kind_of "$name")")")"
      if [ -n "$pid" ] && service_healthy "$port"; then state=up; else state=DOWN; down=1; fi
      printf '%-20s %-5s %-28s %s\n' "strata-$name" "$state" "http://$HOST:$port" "${pid:+pid $pid}"
    done
    exit "$down"
    ;;
  *) die "usage: services.sh start [--analyzers N] | stop | status | restart [--analyzers N]" ;;
esac
