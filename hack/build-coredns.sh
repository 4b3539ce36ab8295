#!/usr/bin/env bash
# Compiles CoreDNS from the Go module proxy (CGO off), with only the plugins the
# kind cluster's Corefile uses (hack/cluster/dns.go), into
# $CACHE/coredns/<version>-<plugins hash>/, and builds the local image
# podsem/coredns:<version>-<hash> from it (images/coredns), which the kind
# cluster runs as its DNS; prints the image's tag. Skips what exists.
# `build-coredns.sh --version` prints the pinned version.
#
# The one place CoreDNS's version is pinned. CoreDNS's own main links every
# plugin (cloud DNS providers and all): a quarter of an hour on 2 cores. The
# main below, ours, links the six the Corefile names.
source "$(dirname "$0")/lib.sh"

COREDNS_VERSION=v1.15.0
PLUGINS=(errors health ready kubernetes cache loadbalance)

case "${1:-}" in
--version) echo "$COREDNS_VERSION"; exit 0 ;;
"") ;;
*) die "usage: $0 [--version]" ;;
esac

main_go() {
	echo "// Command coredns: CoreDNS $COREDNS_VERSION with the plugins podsem's kind cluster uses."
	echo "package main"
	echo
	echo "import ("
	echo '	"github.com/coredns/coredns/coremain"'
	local p
	for p in "${PLUGINS[@]}"; do echo "	_ \"github.com/coredns/coredns/plugin/$p\""; done
	echo ")"
	echo
	echo "func main() { coremain.Run() }"
}

cd "$ROOT"
build=$COREDNS_VERSION-$(main_go | sha256sum | cut -c1-8)
tag=podsem/coredns:$build-$(files_digest images/coredns | sha256sum | cut -c1-8)
# PODSEM_RESOLVE_ONLY=1 (hack/prefetch.sh): the modules only, before Docker may answer.
if [ -z "${PODSEM_RESOLVE_ONLY:-}" ] && docker image inspect "$tag" >/dev/null 2>&1; then
	log "image $tag: cached"
	echo "$tag"
	exit 0
fi

out=$CACHE/coredns/$build
if [ -f "$out/.complete" ]; then
	log "coredns $build: cached in $out"
else
	mod=$CACHE/work/coredns-$build tmp=$out.tmp
	rm -rf "$mod" "$tmp" && mkdir -p "$mod" "$tmp"
	(
		cd "$mod"
		printf 'module podsem.local/build/coredns\n\ngo 1.26.0\n' > go.mod
		main_go > main.go
		step "resolve coredns $COREDNS_VERSION" go get "github.com/coredns/coredns@$COREDNS_VERSION"
		step "resolve coredns $COREDNS_VERSION's plugins (${PLUGINS[*]})" go mod tidy
		[ -z "${PODSEM_RESOLVE_ONLY:-}" ] || exit 0
		step "compile coredns $COREDNS_VERSION" env CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/coredns" .
	) >&2
	if [ -n "${PODSEM_RESOLVE_ONLY:-}" ]; then
		rm -rf "$tmp"
	else
		touch "$tmp/.complete"
		publish "$tmp" "$out"
	fi
fi
[ -z "${PODSEM_RESOLVE_ONLY:-}" ] || exit 0
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp images/coredns/Dockerfile "$ctx/"
cp "$out/coredns" "$ctx/coredns"
step "docker build $tag" quiet env DOCKER_BUILDKIT=0 docker build -t "$tag" "$ctx" >&2
echo "$tag"
