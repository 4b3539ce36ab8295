#!/usr/bin/env bash
# Builds the podprobe fixture image (images/podprobe) into the local Docker
# engine as podsem/podprobe:<content hash>, and writes that tag to
# bin/podprobe.image. The hash covers the podprobe sources, go.mod, go.sum and
# the Go version, so an unchanged tree reuses the image already built.
source "$(dirname "$0")/lib.sh"

cd "$ROOT"

# source_hash: first 12 hex of sha256 over every file under images/podprobe
# (sorted by path; name and content of each), go.mod, go.sum and the Go version.
source_hash() {
	{
		files_digest images/podprobe go.mod go.sum
		go env GOVERSION
	} | sha256sum | cut -c1-12
}

build_image() {
	local tag=$1 ctx=$CTX/context
	mkdir -p "$ctx/rootfs/tmp"
	chmod 1777 "$ctx/rootfs/tmp"
	step "compile podprobe" env CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' \
		-o "$ctx/rootfs/podprobe" ./images/podprobe
	# The classic builder: this engine has no BuildKit/buildx, and FROM scratch
	# needs neither.
	step "docker build $tag" quiet env DOCKER_BUILDKIT=0 docker build \
		-f images/podprobe/Dockerfile -t "$tag" "$ctx"
}

docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
	die "no Docker engine answers (hack/docker.sh starts one)"

CTX=$(mktemp -d)
trap 'rm -rf "$CTX"' EXIT

tag=podsem/podprobe:$(source_hash)
if docker image inspect "$tag" >/dev/null 2>&1; then
	log "image $tag: cached"
else
	build_image "$tag"
fi
# The fixtures name podsem/podprobe:latest, so they also work with plain kubectl apply.
docker tag "$tag" podsem/podprobe:latest
mkdir -p "$ROOT/bin"
echo "$tag" >"$ROOT/bin/podprobe.image"
echo "$tag"
