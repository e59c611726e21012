# shellcheck shell=bash
# Shared settings and helpers for infra/local/*.sh. Sourced, never run.
# Everything these scripts write lives under $STRATA_INFRA_CACHE, never in the clone.

STRATA_INFRA_CACHE="${STRATA_INFRA_CACHE:-$HOME/.cache/strata-infra}"
CACHE="$STRATA_INFRA_CACHE"
INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# --- pinned versions -------------------------------------------------------------------
KAFKA_VERSION=3.9.2
# MinIO publishes no semver tags; the Go module proxy serves its releases as pseudo-versions.
# v0.0.0-20250907161309-07c3a429bfed is the commit of RELEASE.2025-09-07T16-13-09Z.
MINIO_RELEASE=RELEASE.2025-09-07T16-13-09Z
MINIO_MODULE_VERSION=v0.0.0-20250907161309-07c3a429bfed
# Trivy, the coverage oracle (apps/cli/src/coverage.test.ts): `go install` from the Go module proxy.
TRIVY_VERSION=v0.74.0
# cargo-auditable, which writes the .dep-v0 section of the coverage image's Rust binary
CARGO_AUDITABLE_VERSION=0.7.7

# --- addresses (docs/conventions.md) --------------------------------------------------------
HOST=127.0.0.1
KAFKA_PORT=19092
KAFKA_CONTROLLER_PORT=19093
# Fixed KRaft cluster id (base64url of the 16 bytes "strata-kafka-kr1"): the storage is formatted once.
KAFKA_CLUSTER_ID=c3RyYXRhLWthZmthLWtyMQ
MINIO_PORT=19000
MINIO_CONSOLE_PORT=19001
MINIO_USER=strata
MINIO_PASSWORD=strata-secret-key
REGISTRY_ANON_PORT=15000
REGISTRY_BASIC_PORT=15001
REGISTRY_TOKEN_PORT=15002
TOKEN_REALM_PORT=15003
REGISTRY_USER=strata
REGISTRY_PASSWORD=strata-pass
TOKEN_SERVICE=strata-registry
TOKEN_ISSUER=strata-test-token-issuer
# PostgreSQL (Debian's package), the distributed shape's system of record (libs/findings-db)
PG_PORT=15432
PG_USER=strata
PG_PASSWORD=strata-pg-pass
PG_DATABASE=strata

KAFKA_LIBS="$CACHE/kafka/libs"
MINIO_BIN="$CACHE/bin/minio"
TRIVY_BIN="$CACHE/trivy/$TRIVY_VERSION/bin/trivy"
# An empty Trivy Java DB (infra/local/trivy-java-db.mjs): lets Trivy read jars with no network.
TRIVY_JAVA_DB="$CACHE/trivy/java-db"
CARGO_AUDITABLE_BIN="$CACHE/cargo-auditable/$CARGO_AUDITABLE_VERSION/bin/cargo-auditable"
REGISTRY_DIR="$CACHE/registry"
# PostgreSQL: cluster in $PG_DIR/data, its Unix socket in $PG_DIR/run (owned by the server's user)
PG_DIR="$CACHE/postgres"
PG_DATA="$PG_DIR/data"
RUN_DIR="$CACHE/run"
LOG_DIR="$CACHE/logs"

COMPONENTS=(kafka minio registry postgres)
REGISTRY_VARIANTS=(anonymous basic token)

log() { printf '[infra %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

# Expand "all" / "" into the component list and reject unknown names.
expand_components() {
  local arg out=()
  [ $# -eq 0 ] && set -- all
  for arg in "$@"; do
    case "$arg" in
      all) out+=("${COMPONENTS[@]}") ;;
      kafka | minio | registry | postgres) out+=("$arg") ;;
      *) die "unknown component '$arg' (expected kafka, minio, registry, postgres or all)" ;;
    esac
  done
  printf '%s\n' "${out[@]}"
}

# --- PostgreSQL -----------------------------------------------------------------------------------
# The newest server installed from Debian's packages (postgresql-<major>: /usr/lib/postgresql/<major>/bin).
pg_bindir() {
  local d
  d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  [ -n "$d" ] && [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && echo "$d"
}

# PostgreSQL refuses to run as root: as root the server runs as Debian's `postgres` account (made by
# the package), otherwise as the current user.
pg_os_user() { if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi; }

# The prefix that runs a command as the server's user (setpriv execs: a pid recorded for the
# command is its own, so pid files and signals reach the server itself).
PG_AS_USER=()
if [ "$(id -u)" -eq 0 ]; then PG_AS_USER=(setpriv --reuid=postgres --regid=postgres --init-groups --reset-env --); fi
as_pg_user() { "${PG_AS_USER[@]}" "$@"; }

pg_url() { echo "postgres://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT/$PG_DATABASE"; }

# A real query as the Strata role over TCP with its password, not just an open port.
pg_healthy() {
  local bin out
  bin="$(pg_bindir)" || return 1
  out="$(PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=3 timeout 5 "$bin/psql" -X -q -t -A \
    -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DATABASE" -c 'select 1' 2>/dev/null)" || return 1
  [ "$out" = 1 ]
}

# The server answers (any answer but "no response"), before the database exists.
pg_accepting() {
  local bin
  bin="$(pg_bindir)" || return 1
  timeout 5 "$bin/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 3
}

registry_port() {
  case "$1" in
    anonymous) echo "$REGISTRY_ANON_PORT" ;;
    basic) echo "$REGISTRY_BASIC_PORT" ;;
    token) echo "$REGISTRY_TOKEN_PORT" ;;
    *) die "unknown registry variant '$1'" ;;
  esac
}

# Take an exclusive lock for the rest of the calling script (concurrent up.sh runs are serialized).
take_lock() {
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.$1.lock"
  if ! flock -w 1800 8; then die "timed out waiting for lock $CACHE/.$1.lock"; fi
}

# --- process bookkeeping ------------------------------------------------------------------
pid_file() { echo "$RUN_DIR/$1.pid"; }

# Prints the pid recorded for a service name if that process is still alive and is ours
# (its command line still mentions the expected program), else nothing.
live_pid() {
  local name="$1" marker="$2" f pid
  f="$(pid_file "$name")"
  [ -f "$f" ] || return 0
  pid="$(cat "$f" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  [ -r "/proc/$pid/cmdline" ] || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"; then echo "$pid"; fi
}

# Starts a command detached (own session, no stdin), logging to $LOG_DIR/<name>.log.
spawn() {
  local name="$1"
  shift
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  # 8>&-: the daemon must not inherit the lock fd of take_lock, or it would hold the lock forever
  setsid "$@" </dev/null >>"$LOG_DIR/$name.log" 2>&1 8>&- &
  echo $! >"$(pid_file "$name")"
}

# Graceful stop by pid file: signal $4 (TERM), wait up to $3 seconds, then KILL.
stop_pid() {
  local name="$1" marker="$2" grace="${3:-20}" signal="${4:-TERM}" pid i
  pid="$(live_pid "$name" "$marker")"
  if [ -z "$pid" ]; then
    rm -f "$(pid_file "$name")"
    log "$name: not running"
    return 0
  fi
  log "$name: stopping pid $pid"
  kill -"$signal" "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 4; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: still alive after ${grace}s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$(pid_file "$name")"
}

# Is something listening on host:port? (bash /dev/tcp, bounded by timeout)
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# --- health checks: each prints nothing and returns 0 when healthy -----------------------------

# Sends a Kafka ApiVersions v0 request and checks the reply carries our correlation id and
# error code 0, so "healthy" means a broker that speaks the protocol, not just an open port.
kafka_healthy() {
  local reply
  reply="$(timeout 5 bash -c '
    exec 3<>/dev/tcp/'"$HOST"'/'"$KAFKA_PORT"' || exit 1
    # size=16 | api_key=18 | api_version=0 | correlation_id=0x5354 | client_id="strata"
    printf "\x00\x00\x00\x10\x00\x12\x00\x00\x00\x00\x53\x54\x00\x06strata" >&3
    head -c 10 <&3 | od -An -tx1 | tr -d " \n"' 2>/dev/null)" || return 1
  # 4 bytes size, then correlation id 00005354, then error code 0000
  [ "${reply:8:12}" = "000053540000" ]
}

minio_healthy() {
  curl -fsS -m 5 -o /dev/null "http://$HOST:$MINIO_PORT/minio/health/ready" 2>/dev/null
}

# anonymous: 200 without credentials; basic: 401 without and 200 with credentials;
# token: 401 with a Bearer challenge naming our realm.
registry_healthy() {
  local variant="$1" port code headers
  port="$(registry_port "$variant")"
  case "$variant" in
    anonymous)
      code="$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$HOST:$port/v2/")" || return 1
      [ "$code" = 200 ]
      ;;
    basic)
      code="$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$HOST:$port/v2/")" || return 1
      [ "$code" = 401 ] || return 1
      code="$(curl -s -m 5 -o /dev/null -w '%{http_code}' -u "$REGISTRY_USER:$REGISTRY_PASSWORD" "http://$HOST:$port/v2/")" || return 1
      [ "$code" = 200 ]
      ;;
    token)
      headers="$(curl -s -m 5 -o /dev/null -D - "http://$HOST:$port/v2/")" || return 1
      grep -q '^HTTP/[0-9.]* 401' <<<"$headers" &&
        grep -qi "^www-authenticate: Bearer realm=\"http://$HOST:$TOKEN_REALM_PORT/token\"" <<<"$headers"
      ;;
  esac
}

# wait_healthy <what> <address> <attempts> <pid> <logfile> <check...>
# Polls <check> once per second; fails with the address and the log tail if the process dies
# or the attempts run out. Never waits forever.
wait_healthy() {
  local what="$1" addr="$2" attempts="$3" pid="$4" logfile="$5" i
  shift 5
  for ((i = 1; i <= attempts; i++)); do
    if "$@"; then
      log "$what: healthy at $addr (after ~${i}s)"
      return 0
    fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      log "$what: process $pid exited; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      die "$what did not come up at $addr (process exited)"
    fi
    sleep 1
  done
  log "$what: last lines of $logfile:"
  tail -n 30 "$logfile" >&2 || true
  die "$what did not become healthy at $addr within ${attempts}s"
}
