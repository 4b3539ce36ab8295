#!/usr/bin/env bash
# make bench: times the suite on the current cluster. BENCH_RUNS suite runs
# (hack/e2e.sh, each gated as usual; default 5) give the median, min and max
# wall; then one warm `make e2e`, timed end to end (BENCH_E2E=0 skips it);
# bin/report bench writes $ARTIFACTS/bench.md and bench.json: every run, where
# the spec time goes by phase, the ten slowest specs with their phases and
# longest spans (the suite's timing entries, framework/timing). Each timed
# run starts once the namespaces of the run before it are gone (the suite
# never waits for its own teardown, which would otherwise spill into the next
# run's time): the wait is logged, not timed.
#
# Beside the wall, each run's CPU: the machine's busy time over every core
# (/proc/stat), its cost on a CPU-bound machine, steadier than the wall; and
# the machine's pace before and after the runs: seconds one core takes for a
# fixed workload (this machine's speed varies by a fifth within an hour).
#
# A benchmark, not a timed test: no number fails it. It exits non-zero only
# when a run is broken (a spec failed, the gate failed, no report), and the
# report says which.
#
# Environment: BENCH_RUNS (5), BENCH_E2E (1), ARTIFACTS (_artifacts); the
# suite's own (KUBECONFIG, RUNTIME_CLASS, PROCS, ...) as hack/e2e.sh reads them.
source "$(dirname "$0")/lib.sh"

runs=${BENCH_RUNS:-5}
e2e=${BENCH_E2E:-1}
artifacts=${ARTIFACTS:-$ROOT/_artifacts}
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS=$runs: want a number of suite runs, 1 or more"
[[ $e2e == 0 || $e2e == 1 ]] || die "BENCH_E2E=$e2e: want 1 (time one warm make e2e) or 0 (skip it)"
for b in pod.test ginkgo report; do
	[ -x "$ROOT/bin/$b" ] || die "bin/$b is missing: make bench builds it (or make bin/$b)"
done
if [ -n "${FOCUS:-}${LABELS:-}" ]; then
	die "FOCUS/LABELS set: make bench times the whole suite; unset them"
fi

# now: the wall clock in seconds, to the millisecond.
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# busy: the machine's CPU seconds so far, every core (user, nice, system, irq,
# softirq; idle, iowait and steal left out).
busy() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz; exit }' /proc/stat
}
# pace: seconds one core takes for a fixed workload, the best of three.
pace_workload="sha256sum of 512 MiB of zeros (one core, best of 3)"
pace() {
	local best= i start t
	for i in 1 2 3; do
		start=$(now)
		head -c 536870912 /dev/zero | sha256sum >/dev/null
		t=$(elapsed "$start" "$(now)")
		if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
	done
	printf '%s' "$best"
}

kubeconfig=$(kubeconfig_arg)
# settle: waits, within 3 min, until no namespace of an earlier run is terminating.
settle() {
	timeout 200 "$ROOT/bin/pod.test" --kubeconfig="$kubeconfig" --provider=skeleton --podsem.settle=3m \
		2> >(grep -v 'provider flag' >&2) || die "bench: the cluster did not settle (above)"
}

dir=$artifacts/bench
rm -rf "$dir"
mkdir -p "$dir"
: >"$dir/runs.tsv"
pace_before=$(pace)
log "bench: the machine's pace: ${pace_before}s for $pace_workload"
for i in $(seq 1 "$runs"); do
	n=$(printf '%02d' "$i")
	settle
	log "bench: suite run $n of $runs"
	start=$(now) cpu_start=$(busy)
	rc=0
	env -u REPEAT ARTIFACTS="$dir/$n" "$ROOT/hack/e2e.sh" >"$dir/$n.log" 2>&1 || rc=$?
	wall=$(elapsed "$start" "$(now)") cpu=$(elapsed "$cpu_start" "$(busy)")
	log "bench: run $n: ${wall}s, ${cpu} CPU-s, exit $rc (output: $dir/$n.log)"
	printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$wall" "$rc" "$dir/$n/report.json" "$cpu" >>"$dir/runs.tsv"
done
settle # the last run's teardown would slow the workload
pace_after=$(pace)
log "bench: the machine's pace: ${pace_after}s after the runs"

e2e_args=()
if [ "$e2e" = 1 ]; then
	settle
	log "bench: one warm make e2e"
	start=$(now)
	rc=0
	make -C "$ROOT" --no-print-directory e2e >"$dir/e2e.log" 2>&1 || rc=$?
	wall=$(elapsed "$start" "$(now)")
	log "bench: make e2e: ${wall}s, exit $rc (output: $dir/e2e.log)"
	e2e_args=(--e2e-wall "$wall" --e2e-status "$rc")
fi

"$ROOT/bin/report" bench --runs "$dir/runs.tsv" "${e2e_args[@]}" \
	--pace-workload "$pace_workload" --pace-before "$pace_before" --pace-after "$pace_after" --out "$artifacts"
