#!/usr/bin/env bash
# Runs the suite (hack/e2e.sh) under each RuntimeClass of RUNTIMES, each run
# judged by its own known-divergence profile, then renders the matrix
# ($ARTIFACTS/report.md, report.html) and gates on every run: a profile never
# gates another runtime's run.
#
# Usage: hack/e2e-matrix.sh [bin/report render flags, e.g. --kubernetes-version V]
# Environment: RUNTIMES ("runc crun"), PROFILES (RuntimeClass=profile pairs,
# space-separated: PROFILES='gvisor=gvisor kata=kata'), PROFILE (the profile of
# the only RuntimeClass, when RUNTIMES names one), CLAIM, PARTIAL, and the rest
# of hack/e2e.sh's; ARTIFACTS (_artifacts).
source "$(dirname "$0")/lib.sh"

read -r -a runtimes <<<"${RUNTIMES:-runc crun}"
[ "${#runtimes[@]}" -gt 0 ] || die "RUNTIMES is empty: name the RuntimeClasses to run under (RUNTIMES='runc crun')"
artifacts=${ARTIFACTS:-$ROOT/_artifacts}

declare -A profile_of=()
for pair in ${PROFILES:-}; do
	rc=${pair%%=*} p=${pair#*=}
	[[ $pair == *=* && -n $rc && -n $p ]] ||
		die "PROFILES: '$pair' is not RUNTIMECLASS=PROFILE (PROFILES='gvisor=gvisor kata=kata')"
	[[ " ${runtimes[*]} " == *" $rc "* ]] ||
		die "PROFILES names RuntimeClass $rc, which RUNTIMES ('${runtimes[*]}') does not run"
	[ -z "${profile_of[$rc]:-}" ] || die "PROFILES gives RuntimeClass $rc two profiles"
	profile_of[$rc]=$p
done
if [ -n "${PROFILE:-}" ]; then
	[ "${#runtimes[@]}" -eq 1 ] ||
		die "PROFILE=$PROFILE with RUNTIMES='${runtimes[*]}': a profile judges one runtime's run; use PROFILES='RUNTIMECLASS=$PROFILE'"
	[ -z "${profile_of[${runtimes[0]}]:-}" ] || die "PROFILE and PROFILES both give ${runtimes[0]} a profile: use one"
	profile_of[${runtimes[0]}]=$PROFILE
fi

runs=() reports=() judging=()
[ -z "${CLAIM:-}" ] || judging+=(--claim "$CLAIM")
[ "${PARTIAL:-}" != 1 ] || judging+=(--partial)
for rc in "${runtimes[@]}"; do
	dir=$artifacts/runs/$rc
	rm -f "$dir/report.json"
	log "e2e-matrix: RuntimeClass $rc, profile ${profile_of[$rc]:-(none)}"
	# Each run's own gate is logged; the gate over all runs below decides.
	ARTIFACTS=$dir RUNTIME_CLASS=$rc PROFILE=${profile_of[$rc]:-} "$ROOT/hack/e2e.sh" || true
	runs+=(--run "$rc=$dir/report.json")
	reports+=(--report "$rc=$dir/report.json")
	[ -z "${profile_of[$rc]:-}" ] || judging+=(--profile "$rc=${profile_of[$rc]}")
done
"$ROOT/bin/report" render "${runs[@]}" "${judging[@]}" --out "$artifacts" "$@"
"$ROOT/bin/report" gate "${reports[@]}" "${judging[@]}"
