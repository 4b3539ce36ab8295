#!/usr/bin/env bash
# Bootstraps the kind node's Debian root filesystem (packages from
# images/kind-node/packages.txt) and imports it as the docker image that the node
# image is built on. Tagged by a hash of the package list and this script: skips
# when that image exists.
source "$(dirname "$0")/lib.sh"

SUITE=${PODSEM_DEBIAN_SUITE:-bookworm}
list=$ROOT/images/kind-node/packages.txt
tag=podsem/node-rootfs:$(cat "$list" "$0" <(echo "$SUITE") | sha256sum | cut -c1-12)

case "${1:-}" in
--mirror) MIRROR_ONLY=1 ;;
"") MIRROR_ONLY= ;;
*) die "usage: $0 [--mirror]" ;;
esac

mkdir -p "$CACHE"
if [ -z "$MIRROR_ONLY" ] && docker image inspect "$tag" >/dev/null 2>&1; then
	log "node rootfs: $tag exists"
	echo "$tag" > "$CACHE/node-rootfs.tag"
	exit 0
fi

# host_mirror: the mirrors this host's apt uses for $SUITE, from deb822 .sources
# entries (URIs with Suites naming $SUITE) and one-line "deb URI SUITE ..." lists.
# No package host is written into the project: the host's or PODSEM_DEBIAN_MIRROR.
apt_dir=${PODSEM_APT_DIR:-/etc/apt}
host_mirror() {
	local f
	for f in "$apt_dir"/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$SUITE" '
			function flush() { if (uris != "" && has) { print uris; found = 1 } uris = ""; has = 0 }
			/^[[:space:]]*$/ { flush(); next }
			tolower($1) == "uris:" { uris = $2 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
			END { flush() }' "$f"
	done
	for f in "$apt_dir"/sources.list "$apt_dir"/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -E 's/\[[^]]*\]//' "$f" | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2 }'
	done
}
mirror=${PODSEM_DEBIAN_MIRROR:-$(host_mirror | head -n 1)}
[ -n "$mirror" ] || die "no Debian mirror for $SUITE: the host's apt configuration ($apt_dir/sources.list, $apt_dir/sources.list.d) names none; set PODSEM_DEBIAN_MIRROR=<mirror URL>"
if [ -n "$MIRROR_ONLY" ]; then
	echo "$mirror"
	exit 0
fi

[ "$(id -u)" = 0 ] || die "debootstrap needs root"
ensure_packages "${NODE_BUILD_PACKAGES[@]}"

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
