#!/usr/bin/env bash
# Proves the vendor kit from the extracted tarball alone, as a vendor would use
# it: no repository, no Go on PATH. It imports the kit's images on every node
# of the kind cluster the way an air-gapped node would (ctr images import; not
# again where a node holds the same image ID under the kit's tag), checks
# `podsem version` and `podsem list` (every catalogue ID), that bad input
# gives one error line within 20 s (bad kubeconfig, missing RuntimeClass, an
# image the nodes lack, an unknown flag value), that `podsem run` against
# RUNTIME_CLASS passes and writes every report, and that the kit's sonobuoy
# plugin passes under sonobuoy itself, as the kit's least-privilege
# ServiceAccount (hack/e2e-sonobuoy.sh). Sonobuoy starts first; the bad inputs
# and the kit's own run start once its plugin has ended.
#
# These runs prove packaging and wiring, not the semantics again (make e2e ran
# the suite before): they run the sample, one fast catalogue ID per area
# (bin/plugin sample), as the partial run it is; FULL=1 runs every ID.
# Both runs are judged like hack/e2e.sh's: against PROFILE, with CLAIM.
#
# Usage: hack/e2e-kit.sh KIT.tar.gz   Environment: KUBECONFIG (bin/kubeconfig),
# CLUSTER_NAME (podsem), RUNTIME_CLASS (runc), PROFILE (a profile name, or a
# YAML file), CLAIM (Optional IDs, comma-separated), FULL (1: the whole
# catalogue), ARTIFACTS (_artifacts/kit; the sonobuoy run's in its sonobuoy/).
source "$(dirname "$0")/lib.sh"

kit=${1:?usage: hack/e2e-kit.sh KIT.tar.gz}
kubeconfig=$(kubeconfig_arg)
cluster=${CLUSTER_NAME:-podsem}
runtime_class=${RUNTIME_CLASS:-runc}
artifacts=${ARTIFACTS:-$ROOT/_artifacts/kit}
profile=$(profile_arg)
judging=()
[ -z "$profile" ] || judging+=(--profile "$profile")
[ -z "${CLAIM:-}" ] || judging+=(--claim "$CLAIM")
full=$(full_run)
[ -x "$ROOT/bin/plugin" ] || die "bin/plugin is missing: make bin/plugin (it judges the runs)"
selection=() check=(--profile "$profile")
if [ -z "$full" ]; then
	sample=$("$ROOT/bin/plugin" sample)
	selection=(--focus "$sample" --partial)
	check+=(--sample)
fi

WORK=$(mktemp -d)
sonobuoy_pid= bad_pids=()
# An interrupted check stops the sonobuoy run beside it (which deletes its run)
# and the bad inputs still running.
trap '[ ${#bad_pids[@]} -eq 0 ] || kill "${bad_pids[@]}" 2>/dev/null
[ -z "$sonobuoy_pid" ] || { kill "$sonobuoy_pid" 2>/dev/null; wait "$sonobuoy_pid"; }; rm -rf "$WORK"' EXIT
tar -xzf "$kit" -C "$WORK"
dir=$(echo "$WORK"/podsem-*)
[ -x "$dir/podsem" ] || die "$kit holds no podsem launcher"

# The vendor's shell: the kit's directory, no Go, no ginkgo, a home of its own.
vendor() { (cd "$dir" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$WORK/home" "$@"); }
if vendor sh -c 'command -v go || command -v ginkgo' >/dev/null; then
	die "the vendor's PATH still finds go or ginkgo"
fi

nodes=$(docker ps --filter "label=io.x-k8s.kind.cluster=$cluster" --format '{{.Names}}')
[ -n "$nodes" ] || die "no node of kind cluster $cluster runs (make kind-up)"
import_kit_images "$dir" $nodes

rm -rf "$artifacts"
mkdir -p "$artifacts"

# In the cluster, first, with the checks below after its plugin: the kit's own
# plugin and RBAC files, as shipped, under sonobuoy, with the same RuntimeClass,
# profile, claims and selection as the run below. KIT_DIR: the kit is
# extracted and its images imported already. Its output follows theirs.
sonobuoy_log=$WORK/sonobuoy.log
sonobuoy_start=$SECONDS
env KIT_DIR="$dir" ARTIFACTS="$artifacts/sonobuoy" "$ROOT/hack/e2e-sonobuoy.sh" "$kit" >"$sonobuoy_log" 2>&1 &
sonobuoy_pid=$!
log "the kit's sonobuoy plugin under sonobuoy: started, beside the checks below (its output follows theirs)"

failures=0
fail() { log "FAIL: $*"; failures=$((failures + 1)); }

version=$(vendor ./podsem version) || fail "podsem version exited $?"
grep -q "^kubernetes $(gomod_version k8s.io/kubernetes)$" <<<"$version" ||
	fail "podsem version does not name the pinned Kubernetes: $version"
log "podsem version: $(head -1 <<<"$version")"

want=$(cd "$ROOT" && grep -oE '\{"[A-Z]+-[0-9]+"' framework/catalogue/catalogue.go | tr -d '{"' | sort)
got=$(vendor ./podsem list | awk 'NR > 1 {print $1}' | sort)
[ "$got" = "$want" ] || fail "podsem list does not print the catalogue: $(diff <(echo "$want") <(echo "$got") | tr '\n' ' ')"
log "podsem list: $(wc -l <<<"$got") catalogue IDs"

# The checks below wait for the plugin's run: sonobuoy's aggregator looks for
# a plugin's results only every 10 s after launching it (pollingInterval in
# sonobuoy's pkg/plugin/aggregation), so a plugin slowed past that first look
# by the checks beside it costs the next 10 s, while checks started once the
# plugin has ended fill that wait. Measured: the kit's checks took 26-28 s
# side by side. This orders the checks and checks nothing: they go on however
# the wait ends.
"$ROOT/bin/plugin" await-end --plugin "$dir/sonobuoy/podsem.yaml" --rbac "$dir/sonobuoy/rbac.yaml" \
	--kubeconfig "$kubeconfig" --timeout "${SONOBUOY_WAIT:-20}m" --while-pid "$sonobuoy_pid" ||
	log "not waiting for the sonobuoy plugin any longer (above): the checks go on beside it"

# bad_input NAME ARGS...: podsem run must exit non-zero within 20 s with exactly
# one error line and no Go stack. Each runs in the background, all of them beside
# the run below (they are process starts and API round trips; two start a
# preflight pod, in a namespace the run's clean spares as too young); its
# verdict, one line, waits in $WORK/bad/N until they are all done.
bad=0
bad_input() {
	local name=$1
	shift
	bad=$((bad + 1))
	mkdir -p "$WORK/bad/$bad.results"
	(
		start=$(date +%s%N) rc=0
		out=$(vendor timeout 60 ./podsem run "$@" --results "$WORK/bad/$bad.results" 2>&1) || rc=$?
		ms=$((($(date +%s%N) - start) / 1000000))
		errors=$(grep -c '^\[podsem\] error: ' <<<"$out" || true)
		if [ "$rc" -eq 0 ] || [ "$ms" -gt 20000 ] || [ "$errors" -ne 1 ] || grep -qE '^goroutine |panic:' <<<"$out"; then
			echo "FAIL $name: exit $rc after ${ms}ms, $errors error line(s): $(tail -3 <<<"$out" | tr '\n' ' ')"
		else
			echo "ok $name: exit $rc in ${ms}ms: $(grep '^\[podsem\] error: ' <<<"$out")"
		fi
	) >"$WORK/bad/$bad" 2>&1 &
	bad_pids+=($!)
}
echo 'not: [a kubeconfig' >"$WORK/garbage.kubeconfig"
bad_input "missing kubeconfig" --kubeconfig "$WORK/absent.kubeconfig" --runtime-class "$runtime_class"
bad_input "garbage kubeconfig" --kubeconfig "$WORK/garbage.kubeconfig" --runtime-class "$runtime_class"
bad_input "missing RuntimeClass" --kubeconfig "$kubeconfig" --runtime-class podsem-absent
bad_input "image not on the nodes" --kubeconfig "$kubeconfig" --runtime-class "$runtime_class" \
	--image podsem/podprobe:absent --pull-policy Never
# A registry on the node's own loopback, at a port nothing serves: the pull is
# refused there, and no name is looked up (a DNS query would leave the machine).
bad_input "image the nodes cannot pull" --kubeconfig "$kubeconfig" --runtime-class "$runtime_class" \
	--image 127.0.0.1:1/podsem/podprobe:absent
bad_input "unknown flag value" --kubeconfig "$kubeconfig" --runtime-class "$runtime_class" --pull-policy Sometimes
bad_input "unknown focus" --kubeconfig "$kubeconfig" --focus NOPE-01
log "$bad bad inputs: started, beside the run below (their verdicts follow it)"

rc=0
# Its stdout (the gate's lines) kept for the check below; the per-spec lines go to stderr.
vendor ./podsem run --kubeconfig "$kubeconfig" --runtime-class "$runtime_class" "${judging[@]}" "${selection[@]}" \
	--results "$artifacts" >"$artifacts/run.log" || rc=$?
cat "$artifacts/run.log"
[ "$rc" -eq 0 ] || fail "podsem run --runtime-class $runtime_class ${judging[*]} ${selection[*]} exited $rc"
for f in junit.xml report.json report.md report.html; do
	[ -s "$artifacts/$f" ] || fail "podsem run wrote no $f"
done
# One testcase per catalogue ID; the sample's ran, the others skipped; the gate's verdict.
ran=
if [ -s "$artifacts/junit.xml" ]; then
	checked=$("$ROOT/bin/plugin" check --junit --results "$artifacts/junit.xml" --log "$artifacts/run.log" "${check[@]}") ||
		fail "podsem run's junit.xml is not the run asked for (above)"
	ran=$(tail -n 1 <<<"$checked")
fi

wait "${bad_pids[@]}"
bad_pids=()
for n in $(seq "$bad"); do
	line=$(cat "$WORK/bad/$n")
	case $line in
	"ok "*) log "${line#ok }" ;;
	"FAIL "*) fail "${line#FAIL }" ;;
	*) fail "bad input $n gave no verdict: $line" ;;
	esac
done

sonobuoy_rc=0
wait "$sonobuoy_pid" || sonobuoy_rc=$?
sonobuoy_pid=
cat "$sonobuoy_log" >&2
[ "$sonobuoy_rc" -eq 0 ] || fail "the kit's sonobuoy plugin under sonobuoy: hack/e2e-sonobuoy.sh exited $sonobuoy_rc (above)"
log "the kit's sonobuoy plugin under sonobuoy: done in $((SECONDS - sonobuoy_start))s"

[ "$failures" -eq 0 ] || die "kit: $failures check(s) failed"
log "kit: $(basename "$kit") works from the tarball alone: version, list, $bad bad inputs refused, run passed: $ran; under sonobuoy too; reports in $artifacts"
