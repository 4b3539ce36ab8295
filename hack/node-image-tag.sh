#!/usr/bin/env bash
# Prints the kind node image reference: podsem/kind-node:<kubernetes version>-<hash>,
# the hash covering every input of the node build (pinned versions, the Go toolchain,
# the node's sources under images/kind-node, images/faults and images/gvisor, the versions
# of the modules the node's Go programs are built from, and the scripts that build it).
# Same inputs, same tag: the build is skipped. A go.sum change for the suite alone does
# not rebuild the node.
source "$(dirname "$0")/lib.sh"

version=$(gomod_version k8s.io/kubernetes)
hash=$(
	cd "$ROOT"
	{
		echo "kubernetes $version"
		echo "kind $(gomod_version sigs.k8s.io/kind)"
		go env GOVERSION
		echo "gvisor-shim $("$ROOT/hack/build-gvisor.sh" --shim-wanted)"
		go list -deps -f '{{with .Module}}{{.Path}} {{.Version}}{{end}}' ./images/faults/... ./images/gvisor/... | LC_ALL=C sort -u
		files_digest images/kind-node images/faults images/gvisor hack/lib.sh hack/node-image-tag.sh hack/docker \
			hack/build-{kubernetes,runtime,rootfs,control-plane,gvisor,kube-router,node-image}.sh
	} | sha256sum | cut -c1-12
)
echo "podsem/kind-node:$version-$hash"
