#!/usr/bin/env bash
# Makes a Docker engine answer: installs Debian's docker.io when dockerd is missing,
# starts dockerd in the background when it is not running, and waits until it does.
# On hosts whose capability bounding set lacks CAP_SYS_RESOURCE, dockerd gets a
# default runtime that drops it (hack/docker/runc-drop-sys-resource), without which
# kind's privileged node containers cannot start.
source "$(dirname "$0")/lib.sh"

DOCKERD_LOG=${PODSEM_DOCKERD_LOG:-/var/log/podsem-dockerd.log}
WRAPPER=/usr/local/libexec/podsem/runc-drop-sys-resource
HOST_PACKAGES=(docker.io jq)

docker_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

install_packages() {
	command -v dockerd >/dev/null && command -v jq >/dev/null && return 0
	ensure_packages "${HOST_PACKAGES[@]}"
}

configure_runtime() {
	! has_sys_resource || return 0
	local real
	real=$(command -v runc) || die "runc not found (docker.io should have installed it)"
	mkdir -p "$(dirname "$WRAPPER")" /etc/docker
	sed "s#@REAL_RUNC@#$real#" "$ROOT/hack/docker/runc-drop-sys-resource" > "$WRAPPER.tmp"
	chmod 0755 "$WRAPPER.tmp" && mv "$WRAPPER.tmp" "$WRAPPER"
	local conf=/etc/docker/daemon.json current='{}'
	[ ! -s "$conf" ] || current=$(cat "$conf")
	jq --arg path "$WRAPPER" '.runtimes["podsem-runc"] = {path: $path} | ."default-runtime" = "podsem-runc"' \
		<<<"$current" > "$conf.tmp"
	if ! cmp -s "$conf.tmp" "$conf"; then
		mv "$conf.tmp" "$conf"
		log "host lacks CAP_SYS_RESOURCE: dockerd's default runtime is now $WRAPPER"
	else
		rm -f "$conf.tmp"
	fi
}

# wait_dockerd SECONDS: waits until docker answers (0) or dockerd is gone (1).
wait_dockerd() {
	local deadline=$((SECONDS + $1))
	until docker_answers; do
		pgrep -x dockerd >/dev/null || return 1
		[ $SECONDS -lt $deadline ] || die "dockerd did not answer within $1s: $(tail -n 3 "$DOCKERD_LOG" 2>/dev/null | tr '\n' ' ')"
		sleep 1
	done
}

start_dockerd() {
	[ "$(id -u)" = 0 ] || die "dockerd is not running and starting it needs root"
	# A dockerd that is starting or shutting down: let it finish either way.
	if pgrep -x dockerd >/dev/null; then
		log "dockerd is running but does not answer yet; waiting"
		wait_dockerd 60 && return 0
	fi
	rm -f /var/run/docker.pid
	log "starting dockerd (log: $DOCKERD_LOG)"
	setsid nohup /usr/sbin/dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
	wait_dockerd 60 || die "dockerd exited: $(tail -n 3 "$DOCKERD_LOG" | tr '\n' ' ')"
}

main() {
	if docker_answers; then
		# A dockerd started by someone else must still be able to run kind's
		# privileged nodes on a host without CAP_SYS_RESOURCE.
		if ! has_sys_resource && [ "$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null)" != podsem-runc ]; then
			die "dockerd runs without a runtime that drops CAP_SYS_RESOURCE, which this host lacks: stop dockerd and run \`make docker\` again"
		fi
		log "docker engine $(docker version --format '{{.Server.Version}}') answers"
		return 0
	fi
	install_packages
	configure_runtime
	start_dockerd
	log "docker engine $(docker version --format '{{.Server.Version}}') answers"
}

step "docker engine" main
