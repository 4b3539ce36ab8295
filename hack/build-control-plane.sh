#!/usr/bin/env bash
# Builds the control-plane images kubeadm expects (kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd, pause; names and tags from
# `kubeadm config images list`) as FROM-scratch docker images, from binaries
# compiled here: Kubernetes' (hack/build-kubernetes.sh), etcd from the Go module
# proxy, pause from the pinned k8s.io/kubernetes source. Skips images that exist.
# kube-proxy and coredns are not built: the cluster runs without them.
source "$(dirname "$0")/lib.sh"

version=$(gomod_version k8s.io/kubernetes)
kbin=$CACHE/kubernetes/$version
[ -f "$kbin/.complete" ] || die "kubernetes binaries missing: run hack/build-kubernetes.sh"

mapfile -t images < <("$kbin/kubeadm" config images list --kubernetes-version "$version" 2>/dev/null |
	grep -E '/(kube-apiserver|kube-controller-manager|kube-scheduler|etcd|pause):')
[ ${#images[@]} -eq 5 ] || die "kubeadm config images list gave ${#images[@]} of 5 control-plane images"

# image_build REF BINARY [ENTRYPOINT]: a FROM-scratch image with BINARY in /usr/local/bin.
image_build() {
	local ref=$1 bin=$2 entry=${3:-} ctx
	if docker image inspect "$ref" >/dev/null 2>&1; then
		log "image $ref exists"
		return 0
	fi
	ctx=$(mktemp -d)
	cp "$bin" "$ctx/"
	mkdir -m 1777 "$ctx/tmp"
	{
		echo "FROM scratch"
		if [ -n "$entry" ]; then
			echo "COPY $(basename "$bin") $entry"
			echo "ENTRYPOINT [\"$entry\"]"
		else
			echo "COPY $(basename "$bin") /usr/local/bin/$(basename "$bin")"
			echo "COPY tmp /tmp"
			echo "ENV PATH=/usr/local/bin"
			echo "ENTRYPOINT [\"/usr/local/bin/$(basename "$bin")\"]"
		fi
	} > "$ctx/Dockerfile"
	step "image $ref" quiet docker build -q -t "$ref" "$ctx"
	rm -rf "$ctx"
}

for ref in "${images[@]}"; do
	name=${ref##*/}; name=${name%%:*}; tag=${ref##*:}
	case "$name" in
	kube-*) image_build "$ref" "$kbin/$name" ;;
	etcd)
		ev=v${tag%-*}
		go_build_cached etcd "$ev" 0 "" "go.etcd.io/etcd/server/v3@$ev"
		[ -f "$CACHE/etcd/$ev/etcd" ] || mv "$CACHE/etcd/$ev/server" "$CACHE/etcd/$ev/etcd" 2>/dev/null || true
		[ -x "$CACHE/etcd/$ev/etcd" ] || die "etcd build produced no binary in $CACHE/etcd/$ev"
		image_build "$ref" "$CACHE/etcd/$ev/etcd"
		;;
	pause)
		out=$CACHE/pause/$tag
		if [ ! -x "$out/pause" ]; then
			mkdir -p "$out.tmp"
			step "compile pause $tag" gcc -Os -static -DVERSION="v$tag" -o "$out.tmp/pause" \
				"$(gomod_dir k8s.io/kubernetes)/build/pause/linux/pause.c"
			strip "$out.tmp/pause"
			publish "$out.tmp" "$out"
		fi
		image_build "$ref" "$out/pause" /pause
		;;
	esac
done
printf '%s\n' "${images[@]}" > "$CACHE/control-plane-$version.images"
