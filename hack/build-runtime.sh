#!/usr/bin/env bash
# Compiles the node's container runtime from the Go module proxy, at the versions
# kind pins for its own node image: containerd v2 (daemon, ctr, runc shim), runc
# (cgo, with seccomp) and crictl. Each into $CACHE/<name>/<version>/; skips when cached.
source "$(dirname "$0")/lib.sh"

containerd=$(kind_pin CONTAINERD_VERSION)
runc=$(kind_pin RUNC_VERSION)
crictl=$(kind_pin CRICTL_VERSION)

go_build_cached containerd "$containerd" 0 "no_btrfs no_devmapper no_zfs no_aufs" \
	"github.com/containerd/containerd/v2/cmd/containerd@$containerd" \
	"github.com/containerd/containerd/v2/cmd/ctr@$containerd" \
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$containerd"

# runc links libseccomp; the node's Debian release provides the same library.
ensure_packages "${NODE_BUILD_PACKAGES[@]}"
go_build_cached runc "$runc" 1 "seccomp urfave_cli_no_docs" "github.com/opencontainers/runc@$runc"

go_build_cached crictl "$crictl" 0 "" "sigs.k8s.io/cri-tools/cmd/crictl@$crictl"
