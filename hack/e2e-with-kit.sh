#!/usr/bin/env bash
# make e2e on the kind cluster: the suite (hack/e2e.sh) with the vendor kit
# built beside it from this tree (hack/build-dist.sh: compiles and packing,
# which fill the core the suite leaves idle while it waits on pods), then the
# kit proven on the same cluster (hack/e2e-kit.sh). The kit's checks come
# after the suite, not beside it: both are bound by the node's CPU, and side
# by side they took longer in all (88 s) than one after the other (82 s).
#
# The suite's output streams as it runs; the kit build's is kept and follows
# it. The exit status fails when either fails: the suite's gate, the kit's
# build, or a check of the kit.
# Environment: what hack/e2e.sh and hack/e2e-kit.sh read.
source "$(dirname "$0")/lib.sh"

build_log=$(mktemp)
kit_file=$(mktemp)
build_pid=
# descendants PID: every process below PID, deepest first.
descendants() {
	local child
	for child in $(pgrep -P "$1"); do
		descendants "$child"
		echo "$child"
	done
}
# An interrupted make e2e stops the kit's build too.
stop_build() {
	[ -n "$build_pid" ] || return 0
	kill $(descendants "$build_pid") "$build_pid" 2>/dev/null || true
	wait "$build_pid" 2>/dev/null || true
}
trap 'stop_build; rm -f "$build_log" "$kit_file"' EXIT

"$ROOT/hack/build-dist.sh" >"$kit_file" 2>"$build_log" &
build_pid=$!
log "the vendor kit: built beside the suite (its output follows the suite's), then checked"

suite_rc=0
"$ROOT/hack/e2e.sh" || suite_rc=$?

build_rc=0
wait "$build_pid" || build_rc=$?
build_pid=
cat "$build_log" >&2
if [ "$build_rc" -ne 0 ]; then
	die "the vendor kit's build failed (exit $build_rc, above)$([ "$suite_rc" -eq 0 ] || echo "; the suite failed too (exit $suite_rc)")"
fi
kit_rc=0
"$ROOT/hack/e2e-kit.sh" "$(cat "$kit_file")" || kit_rc=$?

[ "$suite_rc" -eq 0 ] || die "the suite failed (exit $suite_rc, above)$([ "$kit_rc" -eq 0 ] || echo ", and so did the kit's checks (exit $kit_rc)")"
[ "$kit_rc" -eq 0 ] || die "the vendor kit's checks failed (exit $kit_rc, above)"
