#!/usr/bin/env bash
# Runs the kit's sonobuoy plugin with sonobuoy itself (bin/sonobuoy, the version
# go.mod pins) on the kind cluster, the way the plugin's comments tell a vendor
# to: the kit's rbac.yaml applied, the plugin's podSpec uncommented so that it
# runs as that least-privilege ServiceAccount, sonobuoy in that account's
# namespace (podsem-runner). Nothing is pulled: the aggregator and worker image
# is built here from bin/sonobuoy and loaded into every node, every pull policy
# is Never. Then `sonobuoy retrieve`, `sonobuoy results`, and bin/plugin check
# judges what came back: one testcase per catalogue ID, the sample's (or with
# FULL=1 every one) run and passed, the others skipped, the plugin's gate line
# pass (and partial for the sample). `sonobuoy delete` always ends it (the
# namespace goes in the background; the next run waits for it).
#
# Usage: hack/e2e-sonobuoy.sh KIT.tar.gz   Environment: KUBECONFIG (bin/kubeconfig),
# CLUSTER_NAME (podsem), RUNTIME_CLASS (runc), PROFILE, CLAIM, FULL (1: the whole
# catalogue, not the sample), SONOBUOY_WAIT (minutes, 20), ARTIFACTS
# (_artifacts/sonobuoy), KIT_DIR (the kit already extracted, its images already
# imported on every node: hack/e2e-kit.sh passes it).
source "$(dirname "$0")/lib.sh"

kit=${1:?usage: hack/e2e-sonobuoy.sh KIT.tar.gz}
kubeconfig=$(kubeconfig_arg)
cluster=${CLUSTER_NAME:-podsem}
runtime_class=${RUNTIME_CLASS:-runc}
artifacts=${ARTIFACTS:-$ROOT/_artifacts/sonobuoy}
wait_minutes=${SONOBUOY_WAIT:-20}
[[ $wait_minutes =~ ^[1-9][0-9]*$ ]] || die "SONOBUOY_WAIT=$wait_minutes: want minutes, 1 or more"
full=$(full_run)
sonobuoy=$ROOT/bin/sonobuoy
for tool in "$sonobuoy" "$ROOT/bin/plugin" "$ROOT/bin/cluster"; do
	[ -x "$tool" ] || die "$tool is missing: make $(realpath --relative-to="$ROOT" "$tool")"
done
profile=$(profile_arg)

WORK=$(mktemp -d)
ns=
cleanup() {
	local rc=$?
	if [ -n "$ns" ]; then
		# Not waited for: the namespace goes in the background (15 s), and the
		# next run's plugin render --apply waits until it is gone.
		step "sonobuoy delete (namespace $ns, going in the background)" quiet timeout 120 \
			"$sonobuoy" delete --kubeconfig "$kubeconfig" --namespace "$ns" ||
			log "sonobuoy delete did not finish: delete namespace $ns yourself"
	fi
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dir=${KIT_DIR:-}
nodes=$(docker ps --filter "label=io.x-k8s.kind.cluster=$cluster" --format '{{.Names}}')
[ -n "$nodes" ] || die "no node of kind cluster $cluster runs (make kind-up)"
if [ -z "$dir" ]; then
	tar -xzf "$kit" -C "$WORK"
	dir=$(echo "$WORK"/podsem-*)
	[ -f "$dir/sonobuoy/podsem.yaml" ] || die "$kit holds no sonobuoy/podsem.yaml"
	import_kit_images "$dir" $nodes
fi

image=$("$ROOT/hack/build-sonobuoy-image.sh" "$sonobuoy")
step "load $image into every node of $cluster" quiet "$ROOT/bin/cluster" load --name "$cluster" "$image"

# The run: the kit's plugin as its comments say, judged like the runs before it.
render=(--plugin "$dir/sonobuoy/podsem.yaml" --rbac "$dir/sonobuoy/rbac.yaml" --out "$WORK/podsem.yaml"
	--runtime-class "$runtime_class" --pull-policy Never)
[ -z "$profile" ] || render+=(--profile "$profile")
[ -z "${CLAIM:-}" ] || render+=(--claim "$CLAIM")
check=()
[ -z "$profile" ] || check+=(--profile "$profile")
if [ -z "$full" ]; then
	render+=(--focus "$("$ROOT/bin/plugin" sample)")
	check+=(--sample)
fi
# render checks both files and the settings, and prints the RBAC file's namespace.
namespace=$("$ROOT/bin/plugin" render "${render[@]}")
# A run an interrupted make left: sonobuoy would not start beside it.
if "$sonobuoy" status --kubeconfig "$kubeconfig" --namespace "$namespace" >/dev/null 2>&1; then
	log "an earlier sonobuoy run is still in namespace $namespace: deleting it first"
	timeout 300 "$sonobuoy" delete --kubeconfig "$kubeconfig" --namespace "$namespace" --wait=4 --wait-output silent >/dev/null ||
		die "sonobuoy delete of the earlier run in $namespace did not finish"
fi
ns=$("$ROOT/bin/plugin" render "${render[@]}" --apply --kubeconfig "$kubeconfig")

# Workers reach the aggregator at its Service's name. Left to itself, sonobuoy
# v0.57 advertises "[POD-IP]:8080", which this Go's net/url refuses (brackets
# hold IPv6 addresses only), and the worker exits before it waits for results.
# (--config must come before every flag that sets a configuration field.)
# After the plugins, the aggregator collects only what the check reads: the
# pod logs of its own namespace (the plugin's log holds the gate's line). By
# default it queries every resource of every namespace and kube-system's logs,
# which took 7 s of this step and a core with it; a vendor's run keeps that.
printf '{"Server": {"advertiseaddress": "sonobuoy-aggregator.%s.svc:8080"}, "Resources": ["podlogs"],
 "Filters": {"Namespaces": "^%s$"}, "Limits": {"PodLogs": {"Namespaces": "^%s$"}}}\n' "$ns" "$ns" "$ns" >"$WORK/sonobuoy-config.json"

# await_run polls the aggregator's status every second until the run is
# complete (0) or failed (1), bounded by SONOBUOY_WAIT; sonobuoy's own --wait
# looks every 20 s, which made half of this step's time.
await_run() {
	local deadline=$((SECONDS + wait_minutes * 60)) last= now
	while :; do
		now=$(timeout 30 "$sonobuoy" status --kubeconfig "$kubeconfig" --namespace "$ns" --json 2>/dev/null |
			jq -r '.status // empty' 2>/dev/null) || now=
		if [ -n "$now" ] && [ "$now" != "$last" ]; then
			log "sonobuoy status: $now"
			last=$now
		fi
		case $now in
		complete) return 0 ;;
		failed) return 1 ;;
		esac
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "sonobuoy did not complete within $wait_minutes min (status: ${last:-none yet})"
			return 1
		fi
		sleep 1
	done
}

log "sonobuoy $("$sonobuoy" version --short): the kit's plugin in namespace $ns, image $image, waiting up to $wait_minutes min"
rc=0
"$sonobuoy" run --config "$WORK/sonobuoy-config.json" \
	--kubeconfig "$kubeconfig" --namespace "$ns" --skip-preflight=existingnamespace \
	--plugin "$WORK/podsem.yaml" --sonobuoy-image "$image" \
	--image-pull-policy Never --force-image-pull-policy \
	--timeout $((wait_minutes * 60)) >/dev/null || rc=$?
[ "$rc" -ne 0 ] || await_run || rc=$?
if [ "$rc" -ne 0 ]; then
	timeout 30 "$sonobuoy" status --kubeconfig "$kubeconfig" --namespace "$ns" >&2 || true
	timeout 30 "$sonobuoy" logs --kubeconfig "$kubeconfig" --namespace "$ns" 2>&1 | tail -n 40 >&2 || true
	die "sonobuoy run exited $rc (the status and the last log lines are above)"
fi

mkdir -p "$WORK/retrieved"
tarball=$(timeout 120 "$sonobuoy" retrieve --kubeconfig "$kubeconfig" --namespace "$ns" "$WORK/retrieved") ||
	die "sonobuoy retrieve did not bring the results back"
[ -f "$tarball" ] || die "sonobuoy retrieve printed $tarball, which is no file"
rm -rf "$artifacts"
mkdir -p "$artifacts"
cp "$tarball" "$artifacts/"
tarball=$artifacts/$(basename "$tarball")
log "sonobuoy retrieve: $tarball"

"$sonobuoy" results "$tarball" --plugin podsem
"$sonobuoy" results "$tarball" --plugin podsem --mode detailed >"$artifacts/detailed.json"
# The plugin's own verdict: the gate line of its log, which sonobuoy collected.
mkdir -p "$WORK/unpacked"
tar -xzf "$tarball" -C "$WORK/unpacked"
plugin_log=$(find "$WORK/unpacked/podlogs/$ns" -path '*/logs/plugin.txt' | head -n 1)
[ -n "$plugin_log" ] || die "the results hold no log of the plugin's container (podlogs/$ns/*/logs/plugin.txt)"
cp "$plugin_log" "$artifacts/plugin.log"
"$ROOT/bin/plugin" check --sonobuoy --results "$artifacts/detailed.json" --log "$artifacts/plugin.log" "${check[@]}"
log "sonobuoy: the kit's plugin passed under sonobuoy $("$sonobuoy" version --short), in namespace $ns as rbac.yaml's ServiceAccount; results in $artifacts"
