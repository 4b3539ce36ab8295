#!/usr/bin/env bash
# Compiles kube-router from the Go module proxy (CGO off) into
# $CACHE/kube-router/<version>/, for the kind node's NetworkPolicy enforcer: the
# node runs only its firewall (kube-router.service: --run-firewall, no routing, no
# service proxy), which programs iptables and ipset. Skips when cached.
# `build-kube-router.sh --version` prints the pinned version.
#
# The one place kube-router's version is pinned. v2.1.0 is the newest the module
# proxy serves here; security flaws are reported against it, acceptable only
# because it runs inside the local test cluster, never on a real one.
source "$(dirname "$0")/lib.sh"

KUBE_ROUTER_VERSION=v2.1.0

case "${1:-}" in
--version) echo "$KUBE_ROUTER_VERSION"; exit 0 ;;
"") ;;
*) die "usage: $0 [--version]" ;;
esac

go_build_cached kube-router "$KUBE_ROUTER_VERSION" 0 "" \
	"github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
