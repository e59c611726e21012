#!/usr/bin/env bash
# Starts the local infrastructure on loopback (idempotent: a component that is already up is left
# alone). Needs install.sh to have run.
# Usage: bash infra/local/start.sh [kafka|minio|registry|all]...   (default: all)
#   kafka     Kafka KRaft single node   127.0.0.1:19092 (controller 127.0.0.1:19093)
#   minio     MinIO                     http://127.0.0.1:19000 (console 127.0.0.1:19001)
#   registry  docker-registry x3        127.0.0.1:15000 anonymous, :15001 basic, :15002 token
#   postgres  PostgreSQL (Debian)       127.0.0.1:15432, role/database `strata`, data in $STRATA_INFRA_CACHE/postgres
# Logs: $STRATA_INFRA_CACHE/logs/<name>.log; pids: $STRATA_INFRA_CACHE/run/<name>.pid
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

take_lock start
mkdir -p "$RUN_DIR" "$LOG_DIR"

# Keep one previous log per service.
rotate_log() { if [ -f "$LOG_DIR/$1.log" ]; then mv -f "$LOG_DIR/$1.log" "$LOG_DIR/$1.log.1"; fi; }

# Returns 0 when the component should be started, 1 when it is already up (ours or not).
# Dies when the port is taken by something that is not a healthy instance.
needs_start() {
  local name="$1" marker="$2" addr="$3" pid
  shift 3
  pid="$(live_pid "$name" "$marker")"
  if [ -n "$pid" ]; then
    if "$@"; then
      log "$name: already running (pid $pid) at $addr"
      return 1
    fi
    wait_healthy "$name" "$addr" 60 "$pid" "$LOG_DIR/$name.log" "$@"
    return 1
  fi
  if "$@"; then
    log "$name: something healthy already answers at $addr (not started by these scripts); using it"
    return 1
  fi
  local hostport="${addr#*://}"
  if port_open "${hostport%:*}" "${hostport##*:}"; then
    die "$name: $addr is in use by another process that is not a healthy $name"
  fi
  return 0
}

start_kafka() {
  local addr="$HOST:$KAFKA_PORT" conf="$CACHE/kafka/server.properties" data="$CACHE/kafka/data"
  needs_start kafka kafka.Kafka "$addr" kafka_healthy || return 0
  [ -f "$KAFKA_LIBS/.strata-kafka-$KAFKA_VERSION" ] || die "kafka: jars missing in $KAFKA_LIBS; run infra/local/install.sh"
  command -v java >/dev/null || die "kafka: java not found"
  if port_open "$HOST" "$KAFKA_CONTROLLER_PORT"; then
    die "kafka: controller port $HOST:$KAFKA_CONTROLLER_PORT is in use by another process"
  fi
  mkdir -p "$data"
  sed "s|@DATA_DIR@|$data|g" "$INFRA_DIR/kafka/server.properties" >"$conf"
  cp "$INFRA_DIR/kafka/log4j.properties" "$CACHE/kafka/log4j.properties"
  local java_opts=(-Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    "-Dlog4j.configuration=file:$CACHE/kafka/log4j.properties" "-Dkafka.logs.dir=$LOG_DIR")
  if [ ! -f "$data/meta.properties" ]; then
    log "kafka: formatting storage in $data (cluster id $KAFKA_CLUSTER_ID)"
    java "${java_opts[@]}" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
      -t "$KAFKA_CLUSTER_ID" -c "$conf" --ignore-formatted >"$LOG_DIR/kafka-format.log" 2>&1 ||
      { cat "$LOG_DIR/kafka-format.log" >&2; die "kafka: formatting $data failed"; }
  fi
  rotate_log kafka
  log "kafka: starting on $addr"
  spawn kafka java "${java_opts[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "$conf"
  wait_healthy kafka "$addr" 120 "$(cat "$(pid_file kafka)")" "$LOG_DIR/kafka.log" kafka_healthy
}

start_minio() {
  local addr="$HOST:$MINIO_PORT"
  needs_start minio "$MINIO_BIN server" "http://$addr" minio_healthy || return 0
  [ -x "$MINIO_BIN" ] || die "minio: $MINIO_BIN missing; run infra/local/install.sh"
  mkdir -p "$CACHE/minio-data"
  rotate_log minio
  log "minio: starting on http://$addr"
  spawn minio env MINIO_ROOT_USER="$MINIO_USER" MINIO_ROOT_PASSWORD="$MINIO_PASSWORD" \
    MINIO_UPDATE=off MINIO_BROWSER=on \
    "$MINIO_BIN" server "$CACHE/minio-data" --address "$addr" --console-address "$HOST:$MINIO_CONSOLE_PORT"
  wait_healthy minio "http://$addr" 60 "$(cat "$(pid_file minio)")" "$LOG_DIR/minio.log" minio_healthy
}

start_registry_variant() {
  local variant="$1" port dir name
  port="$(registry_port "$variant")"
  dir="$REGISTRY_DIR/$variant"
  name="registry-$variant"
  needs_start "$name" "docker-registry serve $dir/config.yml" "$HOST:$port" registry_healthy "$variant" || return 0
  command -v docker-registry >/dev/null || die "registry: docker-registry not installed; run infra/local/install.sh"
  for f in http.secret htpasswd token.crt; do
    [ -s "$REGISTRY_DIR/$f" ] || die "registry: $REGISTRY_DIR/$f missing; run infra/local/install.sh"
  done
  mkdir -p "$dir/storage"
  sed -e "s|@STORAGE@|$dir/storage|g" \
    -e "s|@SECRET@|$(cat "$REGISTRY_DIR/http.secret")|g" \
    -e "s|@HTPASSWD@|$REGISTRY_DIR/htpasswd|g" \
    -e "s|@CERT@|$REGISTRY_DIR/token.crt|g" \
    "$INFRA_DIR/registry/config.$variant.yml" >"$dir/config.yml"
  rotate_log "$name"
  log "$name: starting on $HOST:$port"
  spawn "$name" docker-registry serve "$dir/config.yml"
  wait_healthy "$name" "$HOST:$port" 30 "$(cat "$(pid_file "$name")")" "$LOG_DIR/$name.log" registry_healthy "$variant"
}

start_registry() {
  local v
  for v in "${REGISTRY_VARIANTS[@]}"; do start_registry_variant "$v"; done
}

# The server's user must be able to reach its data dir: as root the cache is under /root (mode 700),
# so each ancestor the `postgres` account cannot traverse gets an ACL entry for that account alone
# (search only, no listing): nothing else about the directories changes.
pg_grant_traverse() {
  local dir="$1" user ancestors=()
  user="$(pg_os_user)"
  [ "$user" = "$(id -un)" ] && return 0
  while [ "$dir" != / ]; do
    dir="$(dirname "$dir")"
    ancestors=("$dir" "${ancestors[@]}")
  done
  # top down: a directory is reachable once all above it are
  for dir in "${ancestors[@]}"; do
    if ! as_pg_user test -x "$dir"; then
      command -v setfacl >/dev/null || die "postgres: $user cannot reach $PG_DIR ($dir is closed to it) and setfacl is missing; run infra/local/install.sh"
      log "postgres: letting $user traverse $dir (ACL u:$user:--x)"
      setfacl -m "u:$user:--x" "$dir"
    fi
  done
}

start_postgres() {
  local addr="$HOST:$PG_PORT" bin user pwfile
  needs_start postgres "postgres -D $PG_DATA" "$addr" pg_healthy || return 0
  bin="$(pg_bindir)" || die "postgres: no server in /usr/lib/postgresql/*/bin; run infra/local/install.sh"
  user="$(pg_os_user)"
  mkdir -p "$PG_DIR/run"
  chown "$user:" "$PG_DIR" "$PG_DIR/run"
  chmod 700 "$PG_DIR"
  pg_grant_traverse "$PG_DIR"
  if [ ! -s "$PG_DATA/PG_VERSION" ]; then
    # A fresh cluster: the superuser is the `strata` role, password auth (SCRAM) on loopback and
    # on the socket, UTF-8 with the C locale (byte order: the same answers on every machine).
    log "postgres: creating the cluster in $PG_DATA ($("$bin/postgres" --version))"
    rm -rf "$PG_DATA"
    pwfile="$PG_DIR/.pwfile"
    (umask 077 && printf '%s\n' "$PG_PASSWORD" >"$pwfile")
    chown "$user:" "$pwfile"
    as_pg_user "$bin/initdb" -D "$PG_DATA" -U "$PG_USER" --pwfile="$pwfile" -E UTF8 --no-locale \
      --auth-host=scram-sha-256 --auth-local=scram-sha-256 >"$LOG_DIR/postgres-initdb.log" 2>&1 ||
      { rm -f "$pwfile"; cat "$LOG_DIR/postgres-initdb.log" >&2; die "postgres: initdb of $PG_DATA failed"; }
    rm -f "$pwfile"
  fi
  rotate_log postgres
  log "postgres: starting on $addr"
  # The settings are on the command line (the cluster's postgresql.conf stays initdb's): loopback
  # only, the socket in the cache, room for every test's pool.
  spawn postgres "${PG_AS_USER[@]}" "$bin/postgres" -D "$PG_DATA" -c listen_addresses="$HOST" -c port="$PG_PORT" \
    -c unix_socket_directories="$PG_DIR/run" -c max_connections=200 -c log_min_messages=warning
  local pid
  pid="$(cat "$(pid_file postgres)")"
  wait_healthy postgres "$addr (server)" 60 "$pid" "$LOG_DIR/postgres.log" pg_accepting
  if ! pg_healthy; then
    log "postgres: creating database $PG_DATABASE"
    PGPASSWORD="$PG_PASSWORD" "$bin/psql" -X -q -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres \
      -c "create database $PG_DATABASE" >>"$LOG_DIR/postgres.log" 2>&1 || die "postgres: could not create database $PG_DATABASE"
  fi
  wait_healthy postgres "$addr" 10 "$pid" "$LOG_DIR/postgres.log" pg_healthy
}

list="$(expand_components "$@")" || exit 1
mapfile -t wanted <<<"$list"
for c in "${wanted[@]}"; do "start_$c"; done
