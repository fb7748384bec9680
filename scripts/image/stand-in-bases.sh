#!/usr/bin/env bash
# Stand-ins for the Dockerfile's two base images, made locally where no registry is reachable:
#   node:20-bookworm-slim                         a Debian bookworm minbase root (debootstrap)
#                                                 with this machine's Node.js 20 and npm
#   gcr.io/distroless/nodejs20-debian12:nonroot   no shell, no package manager: /nodejs/bin/node,
#                                                 the C libraries it links, CA roots, user 65532
# They carry the label dev.azid.stand-in=true. An image of the same name without that label (a
# real one, pulled) is left alone and used as is. Prints "NAME@DIGEST" per base, the digests the
# build is pinned to (scripts/image-test.sh passes them as NODE_DIGEST and RUNTIME_DIGEST).
# Needs root, buildah and debootstrap; uses the storage driver podman picks (overlay or vfs).
set -euo pipefail

NODE_IMAGE=${NODE_IMAGE:-node:20-bookworm-slim}
RUNTIME_IMAGE=${RUNTIME_IMAGE:-gcr.io/distroless/nodejs20-debian12:nonroot}
LABEL=dev.azid.stand-in
NODE_BIN=$(command -v node)
NPM_DIR=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)

case "$("$NODE_BIN" --version)" in
v20.*) ;;
*) echo "stand-in-bases: this machine's node is $("$NODE_BIN" --version), the bases need Node.js 20" >&2; exit 1 ;;
esac

# Rebuilt when the machine's node changes; otherwise the stand-ins already stored are reused.
STAMP="$("$NODE_BIN" --version)-$(sha256sum "$NODE_BIN" | cut -c1-16)"

exists_current() {
  buildah inspect --type image --format "{{index .ImageAnnotations \"$LABEL\"}}{{index .OCIv1.Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null
}

digest_of() {
  buildah inspect --type image --format '{{.FromImageDigest}}' "$1"
}

needs_build() {
  local name=$1 found
  if ! buildah inspect --type image "$name" >/dev/null 2>&1; then return 0; fi
  found=$(exists_current "$name")
  [ -z "$found" ] && return 1 # a real image of that name: keep it
  [ "$found" != "$STAMP" ]
}

work=$(mktemp -d /var/tmp/azid-stand-in.XXXXXX)
trap 'rm -rf "$work"' EXIT

rootfs() {
  if [ ! -d "$work/rootfs" ]; then
    echo "stand-in-bases: debootstrap --variant=minbase bookworm (a few minutes the first time)" >&2
    debootstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
      { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  fi
  echo "$work/rootfs"
}

if needs_build "$NODE_IMAGE"; then
  root=$(rootfs)
  c=$(buildah from --pull=never scratch)
  m=$(buildah mount "$c")
  cp -a "$root/." "$m/"
  install -D -m 0755 "$NODE_BIN" "$m/usr/local/bin/node"
  mkdir -p "$m/usr/local/lib/node_modules"
  cp -a "$NPM_DIR" "$m/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$m/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$m/usr/local/bin/npx"
  # The official image's user.
  echo "node:x:1000:1000::/home/node:/bin/bash" >>"$m/etc/passwd"
  echo "node:x:1000:" >>"$m/etc/group"
  mkdir -p "$m/home/node" && chown 1000:1000 "$m/home/node"
  buildah umount "$c" >/dev/null
  buildah config --label "$LABEL=$STAMP" --env NODE_VERSION="$("$NODE_BIN" --version | cut -c2-)" \
    --cmd node --workingdir / "$c"
  buildah commit --quiet --rm "$c" "$NODE_IMAGE" >/dev/null
  echo "stand-in-bases: made $NODE_IMAGE" >&2
fi

if needs_build "$RUNTIME_IMAGE"; then
  root=$(rootfs)
  c=$(buildah from --pull=never scratch)
  m=$(buildah mount "$c")
  install -D -m 0755 "$NODE_BIN" "$m/nodejs/bin/node"
  # The C libraries node links and the loader (what distroless's cc base holds), from the
  # Debian root, at the paths node asks for; Debian's CA roots.
  for lib in $(ldd "$NODE_BIN" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
    install -D -m 0755 "$(chroot "$root" /usr/bin/readlink -f "$lib" | sed "s|^|$root|")" "$m$lib"
  done
  install -D -m 0644 "$root/etc/ssl/certs/ca-certificates.crt" "$m/etc/ssl/certs/ca-certificates.crt"
  mkdir -p "$m/tmp" "$m/home/nonroot"
  chmod 1777 "$m/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$m/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$m/etc/group"
  chown 65532:65532 "$m/home/nonroot"
  buildah umount "$c" >/dev/null
  buildah config --label "$LABEL=$STAMP" --user 65532:65532 --workingdir /home/nonroot \
    --entrypoint '["/nodejs/bin/node"]' --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt "$c"
  buildah commit --quiet --rm "$c" "$RUNTIME_IMAGE" >/dev/null
  echo "stand-in-bases: made $RUNTIME_IMAGE" >&2
fi

# The compose file's Redis image, when asked for (REDIS_IMAGE): Debian's redis-server on the same
# root, over /data owned by uid 999, and with protected mode off as the official image is built
# (it serves other containers without a password; the compose file does not publish it).
if [ -n "${REDIS_IMAGE:-}" ] && needs_build "$REDIS_IMAGE"; then
  c=$(buildah from --pull=never "$NODE_IMAGE")
  buildah run "$c" -- sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null && rm -rf /var/lib/apt/lists/* /usr/local/bin/node /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx && groupadd -g 999 redis-user && useradd -u 999 -g 999 -M -d /data redis-user && mkdir -p /data && chown 999:999 /data' >&2
  printf '#!/bin/sh\nexec /usr/bin/redis-server "$@" --protected-mode no\n' >"$work/redis-server"
  chmod 755 "$work/redis-server"
  buildah copy --quiet "$c" "$work/redis-server" /usr/local/bin/redis-server >/dev/null
  buildah config --label "$LABEL=$STAMP" --workingdir /data --cmd redis-server --env NODE_VERSION- "$c"
  buildah commit --quiet --rm "$c" "$REDIS_IMAGE" >/dev/null
  echo "stand-in-bases: made $REDIS_IMAGE" >&2
fi

for name in "$NODE_IMAGE" "$RUNTIME_IMAGE"; do
  echo "$name@$(digest_of "$name")"
done
