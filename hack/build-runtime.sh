#!/usr/bin/env bash
# Compiles the node's container runtime from the Go module proxy, at the versions
# kind pins for its own node image: containerd v2 (daemon, ctr, runc shim), runc
# (cgo, with seccomp) and crictl. Each into $CACHE/<name>/<version>/; skips when cached.
# Beside kind's runc, an older runc for RuntimeClass runc-1-1: vendors ship runtimes
# of several versions, and the suite must tell what an older one does differently.
# `build-runtime.sh --runc-1.1` prints its version (pinned here, the one place).
source "$(dirname "$0")/lib.sh"

containerd=$(kind_pin CONTAINERD_VERSION)
runc=$(kind_pin RUNC_VERSION)
crictl=$(kind_pin CRICTL_VERSION)
RUNC_1_1_VERSION=v1.1.15
if [ "${1:-}" = --runc-1.1 ]; then
	echo "$RUNC_1_1_VERSION"
	exit 0
fi

go_build_cached containerd "$containerd" 0 "no_btrfs no_devmapper no_zfs no_aufs" \
	"github.com/containerd/containerd/v2/cmd/containerd@$containerd" \
	"github.com/containerd/containerd/v2/cmd/ctr@$containerd" \
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$containerd"

# runc links libseccomp; the node's Debian release provides the same library.
ensure_packages "${NODE_BUILD_PACKAGES[@]}"
go_build_cached runc "$runc" 1 "seccomp urfave_cli_no_docs" "github.com/opencontainers/runc@$runc"
go_build_cached runc "$RUNC_1_1_VERSION" 1 "seccomp" "github.com/opencontainers/runc@$RUNC_1_1_VERSION"

go_build_cached crictl "$crictl" 0 "" "sigs.k8s.io/cri-tools/cmd/crictl@$crictl"
