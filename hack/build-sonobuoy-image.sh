#!/usr/bin/env bash
# Builds the image sonobuoy's aggregator pod and its worker sidecars run,
# podsem/sonobuoy:<version>-<hash of the binary and images/sonobuoy>, FROM
# scratch, from BINARY (bin/sonobuoy: the CLI at the version go.mod pins, built
# static), and prints its tag. Skips when that image exists.
#
# What sonobuoy v0.57 needs in it, read from its source: the aggregator pod runs
# `/sonobuoy aggregator`, each plugin pod's sidecar `/sonobuoy worker global`,
# and `sonobuoy retrieve` execs `/sonobuoy splat /tmp/sonobuoy` in the aggregator,
# which writes the tar.gz itself: no tar, no shell. Their files live in the pods'
# volumes (/tmp/sonobuoy, the results directory). The worker posts the results
# with the MIME type Go's own table gives .gz (application/gzip, which tells the
# aggregator to unpack them): no /etc/mime.types. Both reach the API server with
# the pod's service account token and CA, and the worker the aggregator with the
# CA sonobuoy hands it: no CA bundle either.
#
# Usage: hack/build-sonobuoy-image.sh BINARY
source "$(dirname "$0")/lib.sh"

binary=${1:?usage: hack/build-sonobuoy-image.sh BINARY (bin/sonobuoy)}
[ -x "$binary" ] || die "$binary: no such executable (make bin/sonobuoy builds it)"
cd "$ROOT"
# A FROM scratch image has no loader or libc: the binary must be static.
go version -m "$binary" | grep -q 'CGO_ENABLED=0' ||
	die "$binary is not built with CGO_ENABLED=0: it cannot run FROM scratch (rm it and make bin/sonobuoy)"
version=$(gomod_version github.com/vmware-tanzu/sonobuoy)
hash=$({ sha256sum <"$binary"; files_digest images/sonobuoy; } | sha256sum | cut -c1-12)
tag=podsem/sonobuoy:$version-$hash

docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
	die "no Docker engine answers (hack/docker.sh starts one)"
if docker image inspect "$tag" >/dev/null 2>&1; then
	log "image $tag: cached"
	echo "$tag"
	exit 0
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp images/sonobuoy/Dockerfile "$ctx/"
cp "$binary" "$ctx/sonobuoy"
# The classic builder: this engine has no BuildKit, and FROM scratch needs none.
step "docker build $tag" quiet env DOCKER_BUILDKIT=0 docker build -t "$tag" "$ctx" >&2
# Earlier builds: each is the whole CLI again.
docker images --format '{{.Repository}}:{{.Tag}}' podsem/sonobuoy | grep -vxF "$tag" | xargs -r docker rmi >/dev/null 2>&1 || true
echo "$tag"
