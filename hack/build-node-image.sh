#!/usr/bin/env bash
# Builds the kind node image (tag from hack/node-image-tag.sh) from its parts:
# Kubernetes, containerd/runc/crictl, the Debian rootfs, the control-plane images
# (preloaded into the node's containerd, because kind runs kubeadm init before any
# import could finish and nothing may be pulled). Skips when the tag exists.
source "$(dirname "$0")/lib.sh"
export DOCKER_BUILDKIT=0

tag=$("$ROOT/hack/node-image-tag.sh")
if docker image inspect "$tag" >/dev/null 2>&1; then
	log "node image $tag exists"
	exit 0
fi

version=$(gomod_version k8s.io/kubernetes)
ensure_packages "${NODE_BUILD_PACKAGES[@]}" # before the steps below run side by side
# debootstrap waits on the network while the compiles keep both cores busy: run it beside them.
mkdir -p "$CACHE/work"
"$ROOT/hack/build-rootfs.sh" >"$CACHE/work/rootfs.log" 2>&1 &
rootfs=$!
"$ROOT/hack/build-kubernetes.sh"
# Then two lanes side by side, about even (2 minutes each, cold): one compile
# alone leaves a core idle while it links or waits on one big package.
"$ROOT/hack/build-runtime.sh" && "$ROOT/hack/build-control-plane.sh" &
runtimes=$!
# gVisor only where the node image carries its shim; otherwise bin/cluster up
# installs runsc for the runs that use it (hack/build-gvisor.sh).
shim=$("$ROOT/hack/build-gvisor.sh" --shim-wanted)
{ [ "$shim" = no ] || "$ROOT/hack/build-gvisor.sh"; } && "$ROOT/hack/build-kube-router.sh" &
sandboxes=$!
wait "$runtimes" || die "building containerd, runc, crictl or the control-plane images failed (above)"
wait "$sandboxes" || die "building gVisor or kube-router failed (above)"
if ! wait "$rootfs"; then
	cat "$CACHE/work/rootfs.log" >&2
	die "building the node rootfs failed (log: $CACHE/work/rootfs.log)"
fi
cat "$CACHE/work/rootfs.log" >&2
mapfile -t cp_images < "$CACHE/control-plane-$version.images"
pause=$(printf '%s\n' "${cp_images[@]}" | grep '/pause:')

# The build context: kind's base files from the pinned kind module, our overrides,
# and the binaries. Hard links where possible, so staging costs nothing. A
# directory of its own, so that builds from two checkouts never mix contexts.
ctx=$(mktemp -d "$CACHE/work/node-context.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/bin"
cp -r "$(gomod_dir sigs.k8s.io/kind)/images/base/files" "$ctx/kind-base"
chmod -R u+w "$ctx/kind-base"
cp -r "$ROOT/images/kind-node/files" "$ctx/files"
sed -i "s#@PAUSE_IMAGE@#$pause#" "$ctx/files/etc/containerd/config.toml"
cp "$ROOT/images/kind-node/Dockerfile" "$ctx/"
cp -al "$CACHE/kubernetes/$version" "$ctx/bin/kubernetes"
cp -al "$CACHE/containerd/$(kind_pin CONTAINERD_VERSION)" "$ctx/bin/containerd"
cp -al "$CACHE/runc/$(kind_pin RUNC_VERSION)" "$ctx/bin/runc"
cp -al "$CACHE/runc/$("$ROOT/hack/build-runtime.sh" --runc-1.1)" "$ctx/bin/runc-1.1"
cp -al "$CACHE/crictl/$(kind_pin CRICTL_VERSION)" "$ctx/bin/crictl"
cp -al "$CACHE/kube-router/$("$ROOT/hack/build-kube-router.sh" --version)" "$ctx/bin/kube-router"
rm -f "$ctx"/bin/*/.complete
step "compile the fault injector (images/faults)" env CGO_ENABLED=0 go -C "$ROOT" build -trimpath -ldflags "-s -w" \
	-o "$ctx/bin/faults/podsem-fault" ./images/faults/cmd/podsem-fault
# gVisor: runsc behind runsc-wrapper (images/gvisor), runsc put on the nodes by
# bin/cluster up for the runs that use it; or gVisor's own shim and runsc in the
# image, where the host allows it (hack/build-gvisor.sh --shim-wanted).
gvisor=$("$ROOT/hack/build-gvisor.sh" --version)
mkdir -p "$ctx/bin/gvisor"
step "compile the gVisor wrapper (images/gvisor)" env CGO_ENABLED=0 go -C "$ROOT" build -trimpath -ldflags "-s -w" \
	-o "$ctx/bin/gvisor/runsc-wrapper" ./images/gvisor/cmd/runsc-wrapper
if [ "$shim" = yes ]; then
	cp -al "$CACHE/runsc/$gvisor/runsc" "$ctx/bin/gvisor/runsc"
	cp -al "$CACHE/gvisor-shim/$gvisor/shim" "$ctx/bin/gvisor/containerd-shim-runsc-v1"
	cp "$ROOT/images/gvisor/shim/gvisor.toml" "$ctx/files/etc/containerd/conf.d/gvisor.toml"
	cp "$ROOT/images/gvisor/shim/runsc.toml" "$ctx/files/etc/containerd/runsc.toml"
fi

stage=$tag-stage
step "docker build node image (stage)" quiet docker build -q \
	--build-arg ROOTFS="$(cat "$CACHE/node-rootfs.tag")" --build-arg KUBE_VERSION="$version" \
	-t "$stage" "$ctx"

cid=""
trap 'rm -rf "$ctx"; [ -z "$cid" ] || docker rm -f "$cid" >/dev/null 2>&1 || true' EXIT
preload() {
	cid=$(docker run -d --privileged --entrypoint sleep "$stage" infinity)
	docker exec -d "$cid" sh -c 'containerd >/var/log/containerd-preload.log 2>&1'
	local i
	for i in $(seq 1 60); do
		docker exec "$cid" ctr version >/dev/null 2>&1 && break
		[ "$i" -lt 60 ] || die "containerd did not start in the node image: $(docker exec "$cid" tail -n 3 /var/log/containerd-preload.log)"
		sleep 0.5
	done
	docker save "${cp_images[@]}" | docker exec -i "$cid" ctr -n k8s.io images import \
		--label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - >/dev/null 2>&1
	local n
	n=$(docker exec "$cid" ctr -n k8s.io images ls -q 2>/dev/null | grep -c 'registry.k8s.io' || true)
	[ "$n" = "${#cp_images[@]}" ] || die "preload: containerd lists $n of ${#cp_images[@]} control-plane images"
	docker exec "$cid" sh -c 'pkill -x containerd; for i in $(seq 1 50); do pgrep -x containerd >/dev/null || exit 0; sleep 0.2; done; exit 1'
	docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
		"$cid" "$tag" >/dev/null
	docker rm -f "$cid" >/dev/null
	cid=""
}
step "preload control-plane images into the node's containerd" preload
docker rmi "$stage" >/dev/null
rm -rf "$ctx"
log "node image $tag"
