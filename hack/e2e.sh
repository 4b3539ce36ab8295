#!/usr/bin/env bash
# Runs the pod-semantics suite (bin/pod.test) with ginkgo against a cluster:
# preflight (one line, within seconds), cleanup of namespaces interrupted runs left,
# then the specs in parallel, with reports in $ARTIFACTS.
#
# Environment: KUBECONFIG (default: the kind cluster's bin/kubeconfig),
# RUNTIME_CLASS (runc), IMAGE (default: the podprobe tag `make images` built),
# PULL_POLICY (Never), FOCUS (an ID such as NET-01, or a regexp), LABELS (a Ginkgo
# label filter), PROCS (4), GINKGO_ARGS, ARTIFACTS (_artifacts), PROFILE (a
# known-divergence profile, framework/profiles, or a YAML file: bin/report gate
# then decides the exit status, and failures the profile lists do not fail the run).
source "$(dirname "$0")/lib.sh"

kubeconfig=${KUBECONFIG:-$ROOT/bin/kubeconfig}
runtime_class=${RUNTIME_CLASS-runc}
image=${IMAGE:-$(cat "$ROOT/bin/podprobe.image" 2>/dev/null || echo podsem/podprobe:latest)}
pull_policy=${PULL_POLICY:-Never}
artifacts=${ARTIFACTS:-$ROOT/_artifacts}
procs=${PROCS:-4}

profile=${PROFILE:-}
# ginkgo runs the suite from bin/: a profile file needs an absolute path.
[[ $profile != */* && $profile != *.yaml ]] || profile=$(realpath "$profile")

suite_args=(--kubeconfig="$kubeconfig" --provider=skeleton --podsem.image="$image"
	--podsem.runtime-class="$runtime_class" --podsem.pull-policy="$pull_policy")
[ -z "$profile" ] || suite_args+=(--podsem.profile="$profile")

# A preflight that hangs is a bug; the binary bounds itself, this bounds the binary.
timeout 30 "$ROOT/bin/pod.test" "${suite_args[@]}" --podsem.preflight 2> >(grep -v 'provider flag' >&2) ||
	exit $?
# Namespaces of interrupted runs: only those older than the suite's timeout, so
# that a run in progress elsewhere on the same cluster keeps its own.
timeout 30 "$ROOT/bin/pod.test" "${suite_args[@]}" --podsem.clean --podsem.clean-older-than=35m \
	2> >(grep -v 'provider flag' >&2) || exit $?

ginkgo_args=(-p --procs="$procs" --timeout=30m --poll-progress-after=60s --poll-progress-interval=30s
	--output-dir="$artifacts" --junit-report=junit.xml --json-report=report.json)
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

mkdir -p "$artifacts"
rm -f "$artifacts/report.json" # never judge an earlier run's report
log "running the suite: RuntimeClass ${runtime_class:-(default)}, image $image, $procs processes, cluster $kubeconfig"
start=$SECONDS
rc=0
"$ROOT/bin/ginkgo" "${ginkgo_args[@]}" "$ROOT/bin/pod.test" -- "${suite_args[@]}" || rc=$?
wall=$((SECONDS - start))

if [ -s "$artifacts/report.json" ]; then
	# One line per spec, slowest first: what ran, how it ended, how long it took.
	jq -r '.[].SpecReports[] | select(.LeafNodeType == "It")
		| [.State, ((.RunTime / 1e9 * 10 | round) / 10 | tostring) + "s", .LeafNodeText] | @tsv' \
		"$artifacts/report.json" | sort -t$'\t' -k2 -rn | sed 's/^/  /' >&2
	counts=$(jq -r '[.[].SpecReports[] | select(.LeafNodeType == "It") | .State] | group_by(.) | map("\(length) \(.[0])") | join(", ")' "$artifacts/report.json")
	log "suite: $counts in ${wall}s wall; reports: $artifacts/junit.xml $artifacts/report.json"
	# The plain closing line CI systems read: passed, failed (any other end), skipped.
	jq -r '[.[].SpecReports[] | select(.LeafNodeType == "It") | .State] as $s
		| "e2e: \($s | map(select(. == "passed")) | length) passed, \($s | map(select(. != "passed" and . != "skipped" and . != "pending")) | length) failed, \($s | map(select(. == "skipped")) | length) skipped"' \
		"$artifacts/report.json"
	if [ -n "$profile" ]; then
		# Failures the profile lists are known divergences: the gate decides.
		rc=0
		"$ROOT/bin/report" gate --report "$artifacts/report.json" --profile "$profile" || rc=$?
	fi
fi
exit $rc
