#!/usr/bin/env bash
# Installs everything the local infrastructure needs; every step is skipped when its output is
# already in the cache, so a second run takes a second.
#   apt:   docker-registry skopeo umoci debootstrap rpm apache2-utils zstd jq openssl curl db5.3-util zip
#          ruby php-cli php-composer-semver (version oracles)
#          postgresql (the server infra/local runs as a non-root user) and acl (setfacl, to let that
#          user reach its data dir in the cache when the cache is under /root)
#          chromium (Debian's; the console's browser tests drive it with playwright-core, which
#          downloads no browser of its own)
#          (+ java/maven if absent); python test oracles via pip (libs/*/test-requirements.txt)
#   Kafka: broker jars from Maven Central (infra/local/kafka/pom.xml) -> $CACHE/kafka/libs
#   MinIO: `go install` of a pinned release -> $CACHE/bin/minio (runs in the background while
#          the others proceed; waited for at the end)
#   Trivy: infra/local/trivy.sh (`go install`, ~20 min cold) -> $CACHE/trivy/<version>/bin/trivy,
#          the coverage test's oracle. Started detached and NOT waited for: tools/test-all.sh waits
#          for it (bash infra/local/trivy.sh) just before the tests; until then the test skips.
#   token-auth key pair, htpasswd file and registry http secret -> $CACHE/registry
#   rpm NDB fixture: go-rpmdb v0.1.1 test data via the Go module proxy -> $CACHE/fixtures/rpm-ndb
# Usage: bash infra/local/install.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

take_lock install
mkdir -p "$CACHE/bin" "$LOG_DIR" "$REGISTRY_DIR"

elapsed() { echo $(($(date +%s) - $1)); }

# --- MinIO (background) ---------------------------------------------------------------------
minio_installed() {
  [ -x "$MINIO_BIN" ] && command -v go >/dev/null &&
    go version -m "$MINIO_BIN" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+github.com/minio/minio[[:space:]]+$MINIO_MODULE_VERSION"
}

minio_pid=""
if minio_installed; then
  log "minio: $MINIO_RELEASE already built at $MINIO_BIN"
else
  command -v go >/dev/null || die "go is not installed (MinIO is built with 'go install'; Go >= 1.24 is needed)"
  log "minio: building $MINIO_RELEASE ($MINIO_MODULE_VERSION) in the background; log: $LOG_DIR/minio-install.log"
  (
    start=$(date +%s)
    # Module and build caches live in the infra cache too, so nothing lands in ~/go.
    export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOBIN="$CACHE/bin.tmp" \
      GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0
    rm -rf "$CACHE/bin.tmp"
    cd /tmp
    if go install "github.com/minio/minio@$MINIO_MODULE_VERSION"; then
      mv -f "$CACHE/bin.tmp/minio" "$MINIO_BIN"
      rm -rf "$CACHE/bin.tmp"
      echo "minio build finished in $(elapsed "$start")s"
    else
      echo "minio build FAILED after $(elapsed "$start")s"
      exit 1
    fi
  ) >"$LOG_DIR/minio-install.log" 2>&1 </dev/null &
  minio_pid=$!
fi

# --- Trivy (detached background build; see the header) ----------------------------------------
bash "$INFRA_DIR/trivy.sh" --background

# --- apt ------------------------------------------------------------------------------------
t=$(date +%s)
apt_wanted=(docker-registry skopeo umoci debootstrap rpm apache2-utils zstd jq openssl curl db5.3-util zip
  ruby php-cli php-composer-semver) # ruby, php: the RubyGems and Composer version oracles (libs/versions)
# oracles of the analyzers' tests (libs/analyzers): RubyGems' gem for gemspecs, Composer for installed.json
apt_wanted+=(composer)
# PostgreSQL, the distributed shape's system of record (start.sh runs its own cluster in the cache)
apt_wanted+=(postgresql acl)
# Debian's Chromium, the browser the console's tests drive (e2e/src/console.test.ts, playwright-core
# with executablePath /usr/bin/chromium): nothing is downloaded from outside the package registries
apt_wanted+=(chromium)
command -v java >/dev/null || apt_wanted+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || apt_wanted+=(maven)
apt_missing=()
for p in "${apt_wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    apt_missing+=("$p")
  fi
done
if [ ${#apt_missing[@]} -gt 0 ]; then
  log "apt: installing ${apt_missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  # Debian's package would create and start a cluster of its own on 5432; infra/local runs its own
  # in the cache instead, so ask postgresql-common not to (a drop-in, read at package install only).
  if [[ " ${apt_missing[*]} " == *" postgresql "* ]] && [ ! -e /etc/postgresql-common/createcluster.d/strata.conf ]; then
    $SUDO mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' | $SUDO tee /etc/postgresql-common/createcluster.d/strata.conf >/dev/null
  fi
  $SUDO apt-get update -q >"$LOG_DIR/apt.log" 2>&1 || { tail -20 "$LOG_DIR/apt.log" >&2; die "apt-get update failed"; }
  $SUDO apt-get install -y -q --no-install-recommends "${apt_missing[@]}" >>"$LOG_DIR/apt.log" 2>&1 ||
    { tail -20 "$LOG_DIR/apt.log" >&2; die "apt-get install ${apt_missing[*]} failed"; }
  log "apt: done in $(elapsed "$t")s"
else
  log "apt: all packages present"
fi

# --- Python test oracles (libs/*/, services/*/ and e2e/test-requirements.txt) ---------------
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
reqs=("$repo_root"/libs/*/test-requirements.txt "$repo_root"/services/*/test-requirements.txt "$repo_root"/e2e/test-requirements.txt)
pip_args=()
for r in "${reqs[@]}"; do [ -e "$r" ] && pip_args+=(-r "$r"); done
if [ ${#pip_args[@]} -gt 0 ]; then
  if python3 -m pip install -q --disable-pip-version-check "${pip_args[@]}" >>"$LOG_DIR/pip.log" 2>&1; then
    log "pip: test oracles present ($((${#pip_args[@]} / 2)) requirement files)"
  else
    tail -20 "$LOG_DIR/pip.log" >&2
    die "pip install of the test oracles failed"
  fi
fi

# --- Kafka jars -----------------------------------------------------------------------------
t=$(date +%s)
kafka_stamp="$KAFKA_LIBS/.strata-kafka-$KAFKA_VERSION"
if [ -f "$kafka_stamp" ]; then
  log "kafka: $KAFKA_VERSION jars already in $KAFKA_LIBS"
else
  log "kafka: fetching $KAFKA_VERSION jars from Maven Central"
  rm -rf "$KAFKA_LIBS.tmp"
  mvn -q -B -f "$INFRA_DIR/kafka/pom.xml" \
    -Dmaven.repo.local="$CACHE/kafka/m2" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS.tmp" \
    >"$LOG_DIR/kafka-install.log" 2>&1 || { tail -30 "$LOG_DIR/kafka-install.log" >&2; die "maven could not fetch the Kafka jars"; }
  [ -f "$KAFKA_LIBS.tmp/kafka_2.13-$KAFKA_VERSION.jar" ] || die "kafka_2.13-$KAFKA_VERSION.jar missing after maven run"
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
  touch "$kafka_stamp"
  log "kafka: done in $(elapsed "$t")s ($(ls "$KAFKA_LIBS" | wc -l) jars)"
fi

# --- rpm NDB fixture ---------------------------------------------------------------------------
# A real SUSE BCI (SLE 15 SP3) Packages.db and the `rpm -qa` listing recorded for it, from the test
# data of github.com/knqyf263/go-rpmdb v0.1.1 (MIT), fetched through the Go module proxy; read by
# libs/analyzers' rpm tests, never committed.
ndb_dir="$CACHE/fixtures/rpm-ndb/sle15-bci"
ndb_sha256=c0578453d18e262823bc498ea1805645c9a94b9a91898d50dcf186a56d378968
if [ -s "$ndb_dir/rpmdb_testcase_test.go" ] && echo "$ndb_sha256  $ndb_dir/Packages.db" | sha256sum -c --status 2>/dev/null; then
  log "rpm-ndb: fixture present in $ndb_dir"
else
  command -v go >/dev/null || die "go is not installed (the rpm NDB fixture comes from the Go module proxy)"
  mod_dir=$(cd /tmp && GOMODCACHE="$CACHE/go/mod" GOFLAGS=-modcacherw GOTOOLCHAIN=local \
    go mod download -json github.com/knqyf263/go-rpmdb@v0.1.1 2>>"$LOG_DIR/rpm-ndb.log" | jq -r .Dir) ||
    die "go mod download github.com/knqyf263/go-rpmdb@v0.1.1 failed (see $LOG_DIR/rpm-ndb.log)"
  mkdir -p "$ndb_dir"
  install -m 644 "$mod_dir/pkg/testdata/sle15-bci/Packages.db" "$ndb_dir/Packages.db.tmp"
  install -m 644 "$mod_dir/pkg/rpmdb_testcase_test.go" "$ndb_dir/rpmdb_testcase_test.go"
  echo "$ndb_sha256  $ndb_dir/Packages.db.tmp" | sha256sum -c --status || die "rpm NDB fixture: sha256 mismatch"
  mv "$ndb_dir/Packages.db.tmp" "$ndb_dir/Packages.db"
  log "rpm-ndb: fixture fetched into $ndb_dir"
fi

# --- registry credentials and token-auth key pair ------------------------------------------------
if [ ! -s "$REGISTRY_DIR/token.key" ] || [ ! -s "$REGISTRY_DIR/token.crt" ]; then
  log "registry: generating the token-signing key pair (RSA 2048, self-signed cert)"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$REGISTRY_DIR/token.key.tmp" 2>/dev/null
  openssl req -x509 -new -key "$REGISTRY_DIR/token.key.tmp" -days 3650 -sha256 \
    -subj "/CN=$TOKEN_ISSUER" -out "$REGISTRY_DIR/token.crt.tmp" 2>/dev/null
  chmod 600 "$REGISTRY_DIR/token.key.tmp"
  mv "$REGISTRY_DIR/token.key.tmp" "$REGISTRY_DIR/token.key"
  mv "$REGISTRY_DIR/token.crt.tmp" "$REGISTRY_DIR/token.crt"
  rm -f "$REGISTRY_DIR/token.kid"
fi
if [ ! -s "$REGISTRY_DIR/token.kid" ]; then
  # The "kid" docker/distribution expects in a token header: libtrust's key id, i.e. the first
  # 240 bits of sha256(DER public key), base32, in 12 groups of 4 joined by ':'.
  openssl pkey -in "$REGISTRY_DIR/token.key" -pubout -outform DER 2>/dev/null |
    openssl dgst -sha256 -binary | head -c 30 | base32 | tr -d '=\n' |
    sed -E 's/(.{4})/\1:/g; s/:$//' >"$REGISTRY_DIR/token.kid"
fi
if [ ! -s "$REGISTRY_DIR/htpasswd" ]; then
  htpasswd -Bbn "$REGISTRY_USER" "$REGISTRY_PASSWORD" | sed '/^$/d' >"$REGISTRY_DIR/htpasswd"
fi
if [ ! -s "$REGISTRY_DIR/http.secret" ]; then
  openssl rand -hex 32 >"$REGISTRY_DIR/http.secret"
fi

# --- wait for MinIO ---------------------------------------------------------------------------
if [ -n "$minio_pid" ]; then
  t=$(date +%s)
  log "minio: waiting for the build to finish"
  if ! wait "$minio_pid"; then
    tail -30 "$LOG_DIR/minio-install.log" >&2
    die "building MinIO $MINIO_RELEASE failed (log: $LOG_DIR/minio-install.log)"
  fi
  log "minio: $(tail -1 "$LOG_DIR/minio-install.log") (waited $(elapsed "$t")s here)"
  minio_installed || die "MinIO binary at $MINIO_BIN is not $MINIO_MODULE_VERSION after the build"
fi
log "install: complete (cache: $CACHE)"
