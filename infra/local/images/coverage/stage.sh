#!/usr/bin/env bash
# Stages the files of the coverage image's layers, one folder per layer, from the real package
# registries: Maven Central (mvn), PyPI (pip), npm (npm ci), the Go module proxy (go build),
# crates.io (cargo auditable build) and Debian (apt-get download ruby-rack). Composer, NuGet and
# conda registries are out of reach here, so their records are hand-written (manifests/).
# Called by infra/local/images.sh, which turns each folder into a layer; downloads are cached under
# $CACHE/coverage, so a rebuild is quick.
# Usage: bash infra/local/images/coverage/stage.sh <out-dir>
#   <out-dir>/{jars,python,node,binaries,manifests}/   (each a rootfs fragment)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../../lib.sh
source "$HERE/../../lib.sh"
OUT="${1:?usage: stage.sh <out-dir>}"
CC="$CACHE/coverage"          # download caches of this image
mkdir -p "$CC" "$LOG_DIR"
rm -rf "$OUT" && mkdir -p "$OUT"/{jars,python,node,binaries,manifests}

for tool in mvn java python3 npm go cargo zip apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || die "coverage image: $tool not installed (infra/local/install.sh installs java/maven/zip; go and cargo come with the machine)"
done

# deterministic zip: fixed mtimes, sorted entries, no extra attributes; nested jars stored
# uncompressed, as Spring Boot wants them
zip_dir() { # zip_dir <dir> <out.zip>
  local dir="$1" out
  out="$(realpath -m "$2")"
  rm -f "$out"
  (cd "$dir" && find . -exec touch -h -d '2024-01-01 00:00:00Z' {} + &&
    find . -type f -printf '%P\n' | LC_ALL=C sort | TZ=UTC zip -q -X -D -n .jar "$out" -@)
}

# --- jars: Maven Central -----------------------------------------------------------------------
log "coverage: jars from Maven Central"
jars="$CC/jars"
rm -rf "$jars.tmp"
mvn -q -B -f "$HERE/pom.xml" -Dmaven.repo.local="$CC/m2" dependency:copy-dependencies \
  -DexcludeTransitive=true -DoutputDirectory="$jars.tmp" >"$LOG_DIR/coverage-mvn.log" 2>&1 ||
  { tail -30 "$LOG_DIR/coverage-mvn.log" >&2; die "maven could not fetch the coverage jars"; }
rm -rf "$jars" && mv "$jars.tmp" "$jars"
lib="$OUT/jars/opt/java/lib"
mkdir -p "$lib"
for j in log4j-api-2.14.1 log4j-core-2.14.1 jackson-databind-2.9.10.1 commons-collections-3.2.1 spring-core-5.3.17 spring-beans-5.3.17; do
  cp "$jars/$j.jar" "$lib/"
done
# a Spring-Boot-style fat jar (its own pom.properties, libraries under BOOT-INF/lib) and a .war
t="$(mktemp -d)"
cp -a "$HERE/jar-files/boot/." "$t/" && mkdir -p "$t/BOOT-INF/lib"
cp "$jars/commons-text-1.9.jar" "$jars/snakeyaml-1.26.jar" "$t/BOOT-INF/lib/"
zip_dir "$t" "$OUT/jars/opt/java/coverage-boot-app-1.0.0.jar"
rm -rf "$t" && t="$(mktemp -d)"
cp -a "$HERE/jar-files/war/." "$t/" && mkdir -p "$t/WEB-INF/lib"
cp "$jars/commons-fileupload-1.3.1.jar" "$t/WEB-INF/lib/"
zip_dir "$t" "$OUT/jars/opt/java/coverage-webapp.war"
rm -rf "$t"

# --- python: PyPI ------------------------------------------------------------------------------
log "coverage: wheels from PyPI"
python3 -m pip install -q --disable-pip-version-check --no-deps --no-compile --cache-dir "$CC/pip-cache" \
  --target "$OUT/python/usr/local/lib/python3.11/site-packages" -r "$HERE/python/requirements.txt" \
  >"$LOG_DIR/coverage-pip.log" 2>&1 || { tail -20 "$LOG_DIR/coverage-pip.log" >&2; die "pip install of the coverage wheels failed"; }

# --- npm: the registry, from the committed package-lock.json ---------------------------------------
log "coverage: npm ci (express, lodash, minimist)"
app="$OUT/node/opt/node-app"
mkdir -p "$app"
cp "$HERE/node-app/package.json" "$HERE/node-app/package-lock.json" "$app/"
(cd "$app" && npm ci --ignore-scripts --no-audit --no-fund --cache "$CC/npm-cache") >"$LOG_DIR/coverage-npm.log" 2>&1 ||
  { tail -20 "$LOG_DIR/coverage-npm.log" >&2; die "npm ci of the coverage app failed"; }

# --- binaries: Go (module proxy) and Rust (crates.io, cargo auditable) ---------------------------------
bin="$OUT/binaries/usr/local/bin"
mkdir -p "$bin"
log "coverage: go build (golang.org/x/text v0.3.5)"
(cd "$HERE/go-text" && GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS=-buildvcs=false \
  GOTOOLCHAIN=local CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$bin/go-text-demo" .) >"$LOG_DIR/coverage-go.log" 2>&1 ||
  { tail -20 "$LOG_DIR/coverage-go.log" >&2; die "go build of go-text-demo failed"; }

export CARGO_HOME="$CC/cargo-home"
if [ ! -x "$CARGO_AUDITABLE_BIN" ]; then
  log "coverage: cargo install cargo-auditable $CARGO_AUDITABLE_VERSION (cold: ~3 min)"
  root="$(dirname "$(dirname "$CARGO_AUDITABLE_BIN")")"
  rm -rf "$root.tmp"
  cargo install --locked --root "$root.tmp" --version "$CARGO_AUDITABLE_VERSION" cargo-auditable \
    >"$LOG_DIR/coverage-cargo-auditable.log" 2>&1 ||
    { tail -20 "$LOG_DIR/coverage-cargo-auditable.log" >&2; die "cargo install cargo-auditable failed"; }
  rm -rf "$root" && mv "$root.tmp" "$root"
fi
log "coverage: cargo auditable build (smallvec 0.6.13)"
(cd "$HERE/rust-smallvec" && PATH="$(dirname "$CARGO_AUDITABLE_BIN"):$PATH" CARGO_TARGET_DIR="$CC/rust-target" \
  cargo auditable build --release --locked) >"$LOG_DIR/coverage-cargo.log" 2>&1 ||
  { tail -20 "$LOG_DIR/coverage-cargo.log" >&2; die "cargo auditable build of smallvec-demo failed"; }
cp "$CC/rust-target/release/smallvec-demo" "$bin/"

# --- manifests: a gem from Debian's ruby-rack, hand-written composer/.NET/conda records -------------------
log "coverage: gem rack from Debian's ruby-rack"
deb="$CC/deb"
rm -rf "$deb" && mkdir -p "$deb"
if ! (cd "$deb" && apt-get download -q -o APT::Sandbox::User=root ruby-rack) >"$LOG_DIR/coverage-apt.log" 2>&1; then
  apt-get update -q >>"$LOG_DIR/coverage-apt.log" 2>&1 || true
  (cd "$deb" && apt-get download -q -o APT::Sandbox::User=root ruby-rack) >>"$LOG_DIR/coverage-apt.log" 2>&1 ||
    { tail -20 "$LOG_DIR/coverage-apt.log" >&2; die "apt-get download ruby-rack failed"; }
fi
dpkg-deb -x "$deb"/ruby-rack_*.deb "$deb/x"
# where the ruby Docker images install gems (GEM_HOME=/usr/local/bundle)
mkdir -p "$OUT/manifests/usr/local/bundle"
cp -a "$deb/x/usr/share/rubygems-integration/all/gems" "$deb/x/usr/share/rubygems-integration/all/specifications" \
  "$OUT/manifests/usr/local/bundle/"
cp -a "$HERE/manifests/." "$OUT/manifests/"
log "coverage: staged in $OUT"
