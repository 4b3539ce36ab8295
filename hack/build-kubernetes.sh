#!/usr/bin/env bash
# Compiles the Kubernetes node and control-plane binaries from the k8s.io/kubernetes
# version pinned in go.mod, into $CACHE/kubernetes/<version>/. Skips when cached.
source "$(dirname "$0")/lib.sh"

BINARIES=(kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)

version=$(gomod_version k8s.io/kubernetes)
out=$CACHE/kubernetes/$version
# cached: the entry is complete and has every binary (the list grows).
cached() {
	local b
	[ -f "$out/.complete" ] || return 1
	for b in "${BINARIES[@]}"; do [ -x "$out/$b" ] || return 1; done
}
if cached; then
	log "kubernetes $version binaries: cached in $out"
	exit 0
fi

kdir=$(gomod_dir k8s.io/kubernetes)
minor=${version#v1.}
mod=$CACHE/work/kubernetes-$version
rm -rf "$mod" && mkdir -p "$mod"
cd "$mod"
{
	echo "module podsem.local/build/kubernetes"
	echo
	echo "go $(sed -n 's/^go //p' "$kdir/go.mod")"
	echo
	staging_replaces "$kdir" "v0.$minor"
} > go.mod

pkgs=()
for b in "${BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
gets=()
for p in "${pkgs[@]}"; do gets+=("$p@$version"); done
step "resolve k8s.io/kubernetes $version modules" go get "${gets[@]}"

major=${version#v}; major=${major%%.*}
m=${version#v*.}; m=${m%%.*}
ldflags="-s -w"
for kv in "gitVersion=$version" "gitMajor=$major" "gitMinor=$m" \
	"gitCommit=0000000000000000000000000000000000000000" "gitTreeState=clean" \
	"buildDate=1970-01-01T00:00:00Z"; do
	ldflags+=" -X k8s.io/component-base/version.$kv"
done

tmp=$out.tmp
rm -rf "$tmp" && mkdir -p "$tmp"
step "compile ${BINARIES[*]} ($version; several minutes when cold)" \
	env CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
touch "$tmp/.complete"
mkdir -p "$(dirname "$out")"
publish "$tmp" "$out"
log "kubernetes $version binaries: $out"
