#!/usr/bin/env bash
# Builds the container image of gitops-connector and its relay, FROM scratch, with buildah.
#   deploy/container/build.sh [TAG]          default tag: localhost/gitops-connector:<version>
#   deploy/container/build.sh --binary PATH [TAG]   use a binary built elsewhere
# Needs buildah and webhook (Debian packages); as root, or with rootless buildah set up. Prints
# the image's size. Push it with `buildah push --storage-driver vfs TAG docker://REGISTRY/...`.
set -euo pipefail

binary=""
if [ "${1:-}" = "--binary" ]; then
  binary="${2:?--binary needs a path}"
  case "$binary" in /*) ;; *) binary="$PWD/$binary" ;; esac
  shift 2
fi
cd "$(dirname "$0")/../.."
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
tag="${1:-localhost/gitops-connector:$version}"
storage=(--storage-driver vfs)

command -v buildah >/dev/null || { echo "build.sh: buildah is not installed (apt-get install buildah)" >&2; exit 1; }
webhook=$(command -v webhook) || { echo "build.sh: webhook is not installed (apt-get install webhook)" >&2; exit 1; }
if [ -z "$binary" ]; then
  command -v cargo >/dev/null || { echo "build.sh: cargo is not installed: install Rust (https://rustup.rs), or pass --binary PATH" >&2; exit 1; }
  cargo build --release --locked
  binary="${CARGO_TARGET_DIR:-target}/release/gitops-connector"
fi
[ -x "$binary" ] || { echo "build.sh: $binary is not an executable" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/local/bin" "$root/usr/bin" "$root/etc/webhook" "$root/etc/ssl/certs" "$root/tmp" "$root/state"
install -m 0755 "$binary" "$root/usr/local/bin/gitops-connector"
install -m 0755 "$webhook" "$root/usr/bin/webhook"
# The shared libraries the two programs load, and the dynamic loader, at the paths they expect.
# (No static build: this toolchain has no musl target.)
for lib in $(ldd "$binary" "$webhook" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cp deploy/relay/hooks.json "$root/etc/webhook/hooks.json"
# A non-root user (the Deployment runs as 65532), and name resolution: glibc reads
# nsswitch.conf and hosts; Kubernetes mounts resolv.conf.
printf 'root:x:0:0:root:/nonexistent:/usr/sbin/nologin\ngitops-connector:x:65532:65532:gitops-connector:/nonexistent:/usr/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\ngitops-connector:x:65532:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost\n' > "$root/etc/hosts"
chmod 1777 "$root/tmp"
chown 65532:65532 "$root/state" 2>/dev/null || true

buildah "${storage[@]}" bud --isolation chroot --quiet -f "$PWD/deploy/container/Containerfile" -t "$tag" "$root" >/dev/null
size=$(buildah "${storage[@]}" images --format '{{.Size}}' "$tag" | head -n 1)
echo "built $tag ($size)"
