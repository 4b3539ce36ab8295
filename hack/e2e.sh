#!/usr/bin/env bash
# Runs the pod-semantics suite (bin/pod.test) with ginkgo against a cluster:
# preflight (one line, within seconds), cleanup of namespaces interrupted runs left,
# then the specs in parallel, with reports in $ARTIFACTS. bin/report gate judges
# every run and decides the exit status: a failure the profile does not cover, a
# Required spec skipped or not run, a claimed Optional spec that did not pass, or
# a filtered run not asked to be partial fails it.
#
# Environment: KUBECONFIG (default: the kind cluster's bin/kubeconfig),
# RUNTIME_CLASS (runc), IMAGE (default: the podprobe tag `make images` built),
# PULL_POLICY (Never), FOCUS (an ID such as NET-01, or a regexp), LABELS (a Ginkgo
# label filter), PARTIAL (1: a FOCUS/LABELS run may pass on what it selected),
# PROFILE (a known-divergence profile, framework/profiles, or a YAML file: the
# failures it covers do not fail the run), CLAIM (Optional IDs, comma-separated,
# that must pass), REPEAT (N: run the suite N times and judge its stability),
# PROCS (4), GINKGO_ARGS, ARTIFACTS (_artifacts).
source "$(dirname "$0")/lib.sh"

kubeconfig=$(kubeconfig_arg)
runtime_class=${RUNTIME_CLASS-runc}
image=${IMAGE:-$(cat "$ROOT/bin/podprobe.image" 2>/dev/null || echo podsem/podprobe:latest)}
pull_policy=${PULL_POLICY:-Never}
artifacts=${ARTIFACTS:-$ROOT/_artifacts}
procs=${PROCS:-4}
repeat=${REPEAT:-1}
claim=${CLAIM:-}
[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "REPEAT=$repeat: want a number of runs, 1 or more"
case ${PARTIAL:-} in
'' | 0) partial= ;;
1) partial=1 ;;
*) die "PARTIAL=$PARTIAL: want 1 (accept a FOCUS/LABELS run as partial) or nothing" ;;
esac
[ -x "$ROOT/bin/report" ] || die "bin/report is missing: make bin/report (it judges the run)"

profile=$(profile_arg)

suite_args=(--kubeconfig="$kubeconfig" --provider=skeleton --podsem.image="$image"
	--podsem.runtime-class="$runtime_class" --podsem.pull-policy="$pull_policy")
[ -z "$profile" ] || suite_args+=(--podsem.profile="$profile")
# A claimed spec fails where it would skip.
[ -z "$claim" ] || suite_args+=(--podsem.claim="$claim")

gate_args=()
[ -z "$profile" ] || gate_args+=(--profile "$profile")
[ -z "$claim" ] || gate_args+=(--claim "$claim")
[ -z "$partial" ] || gate_args+=(--partial)

# A preflight that hangs is a bug; the binary bounds itself, this bounds the binary.
# It checks the profile and the claims too, before anything runs.
timeout 30 "$ROOT/bin/pod.test" "${suite_args[@]}" --podsem.preflight 2> >(grep -v 'provider flag' >&2) ||
	exit $?
# Namespaces of interrupted runs: only those older than the suite's timeout, so
# that a run in progress elsewhere on the same cluster keeps its own.
timeout 30 "$ROOT/bin/pod.test" "${suite_args[@]}" --podsem.clean --podsem.clean-older-than=35m \
	2> >(grep -v 'provider flag' >&2) || exit $?

ginkgo_args=(-p --procs="$procs" --timeout=30m --poll-progress-after=60s --poll-progress-interval=30s
	--junit-report=junit.xml --json-report=report.json)
if [ -n "${FOCUS:-}" ]; then
	if [[ $FOCUS =~ ^[A-Z]+-[0-9]+$ ]]; then
		ginkgo_args+=(--label-filter="$FOCUS") # every spec carries its ID as a label
	else
		ginkgo_args+=(--focus="$FOCUS")
	fi
fi
[ -z "${LABELS:-}" ] || ginkgo_args+=(--label-filter="$LABELS")
# shellcheck disable=SC2206 # GINKGO_ARGS is a list of flags, split on purpose
ginkgo_args+=(${GINKGO_ARGS:-})

# run_suite DIR: one run of the suite, its reports in DIR, judged by the gate;
# returns the gate's status (ginkgo's, when there is no report to judge).
run_suite() {
	local dir=$1 rc=0 start=$SECONDS
	mkdir -p "$dir"
	rm -f "$dir/report.json" # never judge an earlier run's report
	# The preflight above checked the image with a pod: the suite's own does not again.
	"$ROOT/bin/ginkgo" "${ginkgo_args[@]}" --output-dir="$dir" "$ROOT/bin/pod.test" -- "${suite_args[@]}" --podsem.image-checked || rc=$?
	local wall=$((SECONDS - start))
	if [ ! -s "$dir/report.json" ]; then
		log "the suite wrote no report ($dir/report.json): nothing to judge"
		[ "$rc" -ne 0 ] || rc=1
		return "$rc"
	fi
	# One line per spec, slowest first: what ran, how it ended, how long it took.
	jq -r '.[].SpecReports[] | select(.LeafNodeType == "It")
		| [.State, ((.RunTime / 1e9 * 10 | round) / 10 | tostring) + "s", .LeafNodeText] | @tsv' \
		"$dir/report.json" | sort -t$'\t' -k2 -rn | sed 's/^/  /' >&2
	local counts
	counts=$(jq -r '[.[].SpecReports[] | select(.LeafNodeType == "It") | .State] | group_by(.) | map("\(length) \(.[0])") | join(", ")' "$dir/report.json")
	log "suite: $counts in ${wall}s wall; reports: $dir/junit.xml $dir/report.json"
	# The plain line CI systems read: passed, failed (any other end), skipped.
	jq -r '[.[].SpecReports[] | select(.LeafNodeType == "It") | .State] as $s
		| "e2e: \($s | map(select(. == "passed")) | length) passed, \($s | map(select(. != "passed" and . != "skipped" and . != "pending")) | length) failed, \($s | map(select(. == "skipped")) | length) skipped"' \
		"$dir/report.json"
	# The gate, not ginkgo, decides: ginkgo passes a run whose Required specs
	# were skipped, and fails one whose failures the profile covers.
	rc=0
	"$ROOT/bin/report" gate --report "$dir/report.json" "${gate_args[@]}" || rc=$?
	return "$rc"
}

if [ "$repeat" -eq 1 ]; then
	log "running the suite: RuntimeClass ${runtime_class:-(default)}, image $image, $procs processes, cluster $kubeconfig"
	rc=0
	run_suite "$artifacts" || rc=$?
	exit $rc
fi

# REPEAT=N: N runs on one cluster, each in repeat/NN/; the last one's reports
# also where a single run puts them; then the stability of every ID.
rm -rf "$artifacts/repeat"
reports=()
for i in $(seq 1 "$repeat"); do
	n=$(printf '%02d' "$i")
	log "run $n of $repeat: RuntimeClass ${runtime_class:-(default)}, image $image, $procs processes, cluster $kubeconfig"
	run_suite "$artifacts/repeat/$n" || true # every run's gate is judged again below
	reports+=(--report "$n=$artifacts/repeat/$n/report.json")
done
for f in junit.xml report.json; do
	if [ -f "$artifacts/repeat/$n/$f" ]; then cp "$artifacts/repeat/$n/$f" "$artifacts/$f"; else rm -f "$artifacts/$f"; fi
done
rc=0
"$ROOT/bin/report" stability "${reports[@]}" "${gate_args[@]}" --out "$artifacts" \
	--kubernetes-version "$(gomod_version k8s.io/kubernetes)" || rc=$?
exit $rc
