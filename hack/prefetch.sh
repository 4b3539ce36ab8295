#!/usr/bin/env bash
# Downloads, all at once, the Go modules of every component built from source
# (containerd, runc, crictl, gVisor, kube-router, CoreDNS): downloads wait on
# the network, so make runs this beside the Kubernetes compile, which keeps
# both cores busy, and the builds that follow find their modules in the module
# cache. (podsem's own module needs little that Kubernetes' does not.) Quiet:
# the log is in $CACHE/work.
# Nothing is compiled; a failure here is left to the build that needs the
# module, which reports it.
source "$(dirname "$0")/lib.sh"

mkdir -p "$CACHE/work"
logfile=$CACHE/work/prefetch.log
start=$SECONDS
export PODSEM_RESOLVE_ONLY=1
{
	"$ROOT/hack/build-runtime.sh" &
	"$ROOT/hack/build-gvisor.sh" &
	"$ROOT/hack/build-kube-router.sh" &
	"$ROOT/hack/build-coredns.sh" &
	failed=0
	for job in $(jobs -p); do wait "$job" || failed=$((failed + 1)); done
	[ "$failed" = 0 ] || echo "prefetch: $failed download(s) failed; the builds will try again"
} >"$logfile" 2>&1
log "Go modules of the components built from source: downloaded in $((SECONDS - start))s (log: $logfile)"
