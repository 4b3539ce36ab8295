#!/usr/bin/env bash
# Compiles gVisor's runsc from the Go module proxy (CGO off) into
# $CACHE/runsc/<version>/, for the node's RuntimeClass "gvisor"; skips when cached.
#
# The node runs runsc behind containerd's runc shim through runsc-wrapper
# (images/gvisor). gVisor's own containerd shim is the standard way where it can
# run: it needs CAP_SYS_RESOURCE (it sets its oom_score_adj to -999) and, for
# the systemd cgroup driver, cgroup v2. GVISOR_SHIM selects it:
#   GVISOR_SHIM=0    (default) the wrapper only
#   GVISOR_SHIM=1    also compile the shim, into $CACHE/gvisor-shim/<version>/shim
#   GVISOR_SHIM=auto compile it when this host has both (see --shim-wanted)
# `build-gvisor.sh --shim-wanted` prints yes or no, for the node build to choose
# its drop-in; `build-gvisor.sh --version` prints the pinned version, `--path`
# where runsc is (or will be) cached.
#
# runsc is built only for runs that use it (the Makefile's GVISOR_RUN: a
# RUNTIME_CLASS or RUNTIMES naming gvisor, or GVISOR=1): bin/cluster up --runsc
# then copies it onto the nodes. With gVisor's shim (GVISOR_SHIM) the node image
# carries both, and every node build compiles them.
#
# The one place the gVisor version is pinned: a pseudo-version of the "go"
# branch of gvisor.dev/gvisor (needs Go >= 1.26.3). gVisor is never a dependency
# of podsem's own module: go_build_cached builds it in a scratch module.
source "$(dirname "$0")/lib.sh"

GVISOR_VERSION=v0.0.0-20260905035102-160fafc42237

# host_can_run_shim: CAP_SYS_RESOURCE (bit 24) in the bounding set, and cgroup v2.
host_can_run_shim() {
	has_sys_resource && [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]
}

shim_wanted() {
	case "${GVISOR_SHIM:-0}" in
	1 | yes) echo yes ;;
	auto) if host_can_run_shim; then echo yes; else echo no; fi ;;
	*) echo no ;;
	esac
}

case "${1:-}" in
--version) echo "$GVISOR_VERSION"; exit 0 ;;
--shim-wanted) shim_wanted; exit 0 ;;
--path) echo "$CACHE/runsc/$GVISOR_VERSION/runsc"; exit 0 ;;
"") ;;
*) die "usage: $0 [--version|--shim-wanted|--path]" ;;
esac

go_build_cached runsc "$GVISOR_VERSION" 0 "" "gvisor.dev/gvisor/runsc@$GVISOR_VERSION"
if [ "$(shim_wanted)" = yes ]; then
	go_build_cached gvisor-shim "$GVISOR_VERSION" 0 "" "gvisor.dev/gvisor/shim@$GVISOR_VERSION"
	log "gVisor $GVISOR_VERSION: runsc and its containerd shim (containerd-shim-runsc-v1) in $CACHE/{runsc,gvisor-shim}/$GVISOR_VERSION"
else
	log "gVisor $GVISOR_VERSION: runsc in $CACHE/runsc/$GVISOR_VERSION (behind runsc-wrapper; GVISOR_SHIM=1|auto for gVisor's own shim)"
fi
