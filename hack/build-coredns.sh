#!/usr/bin/env bash
# Compiles CoreDNS from the Go module proxy (CGO off) into
# $CACHE/coredns/<version>/ and builds the local image podsem/coredns:<version>
# from it (images/coredns), which the kind cluster runs as its DNS; prints the
# image's tag. Skips what exists. `build-coredns.sh --version` prints the
# pinned version.
#
# The one place CoreDNS's version is pinned.
source "$(dirname "$0")/lib.sh"

COREDNS_VERSION=v1.15.0

case "${1:-}" in
--version) echo "$COREDNS_VERSION"; exit 0 ;;
"") ;;
*) die "usage: $0 [--version]" ;;
esac

cd "$ROOT"
tag=podsem/coredns:$COREDNS_VERSION-$(files_digest images/coredns | sha256sum | cut -c1-8)
if docker image inspect "$tag" >/dev/null 2>&1; then
	log "image $tag: cached"
	echo "$tag"
	exit 0
fi
go_build_cached coredns "$COREDNS_VERSION" 0 "" "github.com/coredns/coredns@$COREDNS_VERSION" >&2
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$ROOT/images/coredns/Dockerfile" "$ctx/"
cp "$CACHE/coredns/$COREDNS_VERSION/coredns" "$ctx/coredns"
step "docker build $tag" quiet env DOCKER_BUILDKIT=0 docker build -t "$tag" "$ctx" >&2
echo "$tag"
