#!/usr/bin/env bash
# Bootstraps the kind node's Debian root filesystem (packages from
# images/kind-node/packages.txt) and imports it as the docker image that the node
# image is built on. Tagged by a hash of the package list and this script: skips
# when that image exists.
source "$(dirname "$0")/lib.sh"

SUITE=${PODSEM_DEBIAN_SUITE:-bookworm}
list=$ROOT/images/kind-node/packages.txt
tag=podsem/node-rootfs:$(cat "$list" "$0" <(echo "$SUITE") | sha256sum | cut -c1-12)

mkdir -p "$CACHE"
if docker image inspect "$tag" >/dev/null 2>&1; then
	log "node rootfs: $tag exists"
	echo "$tag" > "$CACHE/node-rootfs.tag"
	exit 0
fi

[ "$(id -u)" = 0 ] || die "debootstrap needs root"
ensure_packages "${NODE_BUILD_PACKAGES[@]}"

# The mirror this host's apt already uses; PODSEM_DEBIAN_MIRROR overrides.
mirror=${PODSEM_DEBIAN_MIRROR:-$(sed -n 's/^URIs:[[:space:]]*\(.*\/debian\)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}

packages=$(grep -vE '^[[:space:]]*(#|$)' "$list" | paste -sd, -)
dir=$CACHE/work/rootfs
rm -rf "$dir" && mkdir -p "$dir"
step "debootstrap $SUITE from $mirror (about 75 s)" \
	quiet debootstrap --variant=minbase --include="$packages" "$SUITE" "$dir" "$mirror"
# apt lists and caches are not needed in the node.
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
step "import rootfs as $tag" sh -c "tar -C '$dir' -c . | docker import - '$tag' >/dev/null"
rm -rf "$dir"
echo "$tag" > "$CACHE/node-rootfs.tag"
