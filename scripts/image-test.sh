#!/usr/bin/env bash
# Builds the Dockerfile as it is and runs the image for real, with podman (no Docker engine
# needed): the stand-in bases when no registry is reachable, the product and sandbox targets,
# `azid --version`, checks of the image's files, the controller run as the Helm chart's
# Deployment runs it until Ready and one identity is reconciled, and the compose stack's own
# commands. Prints the image size, the build time and the time to Ready.
# Needs root (podman and buildah as root), redis-server and .tools/bin/helm (scripts/bootstrap.sh).
# AZID_IMAGE_TEST=skip skips it (e.g. on a machine without root).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "image-test: $*"; }

if [ "${AZID_IMAGE_TEST:-}" = "skip" ]; then say "skipped (AZID_IMAGE_TEST=skip)"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then say "needs root (podman and buildah run as root here); AZID_IMAGE_TEST=skip skips it" >&2; exit 1; fi

missing=""
for tool in buildah podman runc debootstrap podman-compose; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing ${tool}"
done
if [ -n "$missing" ]; then
  say "installing$missing from apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah podman runc debootstrap podman-compose >/dev/null
fi

# podman's settings for this run: runc (crun refuses hybrid cgroups), and limits within what
# this host allows (no CAP_SYS_RESOURCE: a container cannot raise its open-files or process limits).
conf_dir=$(mktemp -d)
trap 'rm -rf "$conf_dir"' EXIT
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] || [ "$nofile" -gt 20000 ] && nofile=20000
cat >"$conf_dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$conf_dir/containers.conf"
# A build's RUN steps take no default_ulimits from containers.conf: the same limits as flags.
export IMAGE_TEST_BUILD_FLAGS="--ulimit nofile=${nofile}:${nofile} --ulimit nproc=4096:4096"

# The bases, by name and digest (stand-ins made here unless real images of those names are stored).
# The compose file's Redis image too (a stand-in where it cannot be pulled).
redis_image=$(node -e 'const y=require("yaml");const c=y.parse(require("fs").readFileSync("docker-compose.yml","utf8"),{merge:true});process.stdout.write(c.services.redis.image)')
bases=$(REDIS_IMAGE="$redis_image" scripts/image/stand-in-bases.sh)
node_digest=$(echo "$bases" | sed -n 1p | sed 's/.*@//')
runtime_digest=$(echo "$bases" | sed -n 2p | sed 's/.*@//')
say "bases: $(echo "$bases" | tr '\n' ' ')"

# The CA of a TLS-intercepting proxy reaches npm as a build secret, never as a layer.
ca_file=${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}
secret=()
if [ -n "$ca_file" ] && [ "$ca_file" != null ] && [ -s "$ca_file" ]; then secret=(--secret "id=npm-ca,src=$ca_file"); fi

PRODUCT=localhost/azid:image-test
build() {
  # shellcheck disable=SC2086 # the flags are words
  podman build --pull=never --layers $IMAGE_TEST_BUILD_FLAGS "${secret[@]}" \
    --build-arg "NODE_DIGEST=$node_digest" --build-arg "RUNTIME_DIGEST=$runtime_digest" "$@" . >"$conf_dir/build.log" 2>&1 ||
    { tail -40 "$conf_dir/build.log"; say "FAILED: podman build $*"; exit 1; }
}
start=$(date +%s)
build --target runtime -t "$PRODUCT"
say "built $PRODUCT in $(($(date +%s) - start)) s (layers of earlier runs reused)"
size() { podman image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1000000 }'; }
say "image size: $PRODUCT $(size "$PRODUCT")"

run() { podman run --rm --pull=never "$@"; }
version=$(run "$PRODUCT" --version)
[ "$version" = "$(node -p 'require("./package.json").version')" ] || { say "FAILED: azid --version printed '$version'"; exit 1; }
say "azid --version: $version"

# The product image: root owns the code, the runtime user cannot change it even on a writable
# root filesystem, and the emulators are not in it.
run --entrypoint /nodejs/bin/node "$PRODUCT" -e '
  const fs = require("node:fs");
  const owners = ["/app", "/app/bin/azid.js", "/app/dist/src", "/app/node_modules"].map((p) => fs.statSync(p).uid);
  if (owners.some((uid) => uid !== 0)) throw new Error(`/app is not root-owned: ${owners}`);
  try { fs.writeFileSync("/app/bin/azid.js", ""); throw new Error("the runtime user could write /app"); }
  catch (error) { if (error.code !== "EACCES") throw error; }
  for (const path of ["/app/packages", "/app/node_modules/@azid", "/app/node_modules/@marcbachmann"])
    if (fs.existsSync(path)) throw new Error(`the product image holds the emulators: ${path}`);
  if (process.getuid() === 0) throw new Error("runs as root");'
say "/app owned by root and not writable by uid 65532; no emulators in the product image"
if out=$(run "$PRODUCT" sandbox 2>&1); then say "FAILED: azid sandbox ran in the product image"; exit 1; fi
echo "$out" | grep -q "needs the emulator packages" || { say "FAILED: azid sandbox said: $out"; exit 1; }
say "azid sandbox in the product image: refused, naming the sandbox target"
if run --entrypoint /bin/sh "$PRODUCT" -c true >/dev/null 2>&1; then say "FAILED: the product image has a shell"; exit 1; fi

# The controller as the chart's Deployment runs it, until Ready and one identity reconciled.
npx tsc -p tsconfig.json
node --enable-source-maps dist/test/image/run-image.js chart "$PRODUCT"

# The compose stack with its own file and commands.
node --enable-source-maps dist/test/image/run-compose.js "$node_digest" "$runtime_digest" ${secret:+"$ca_file"}

# The compose stack's image (built by it, from the sandbox target).
SANDBOX=$(node -e 'const y=require("yaml");const c=y.parse(require("fs").readFileSync("docker-compose.yml","utf8"),{merge:true});process.stdout.write(c.services.sandbox.image)')
say "image size: $SANDBOX $(size "$SANDBOX") (the product plus the emulators)"

# No layer of either image holds the proxy's CA (the CAs added to this host's trust).
podman save --quiet -o "$conf_dir/product.tar" "$PRODUCT"
podman save --quiet -o "$conf_dir/sandbox.tar" "$SANDBOX"
for ca in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$ca" ] || continue
  marker=$(sed -n 3p "$ca")
  # The marker must be findable where the CA is (the bundle handed to the build), or this proves nothing.
  if [ -n "${secret[*]:-}" ] && ! grep -qF -- "$marker" "$ca_file"; then say "FAILED: $ca is not in $ca_file"; exit 1; fi
  if grep -qF -- "$marker" "$conf_dir"/*.tar; then say "FAILED: $ca is baked into an image"; exit 1; fi
done
rm -f "$conf_dir"/*.tar
say "no layer holds the host's added CAs ($(ls /usr/local/share/ca-certificates/*.crt 2>/dev/null | wc -l) checked)"
say "passed in $(($(date +%s) - start)) s after the bases"
