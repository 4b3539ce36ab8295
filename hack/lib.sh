# Shared by the hack/ scripts: logging with timings, the build cache, versions.
# Sourced, never run.

set -o errexit -o nounset -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Built binaries live outside the checkout, keyed by version, so a fresh clone on
# the same machine reuses them. Override with PODSEM_CACHE.
CACHE=${PODSEM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podsem}
export GOFLAGS=${GOFLAGS:--buildvcs=false}

log() { printf '[podsem] %s\n' "$*" >&2; }
die() { printf '[podsem] error: %s\n' "$*" >&2; exit 1; }

# step NAME CMD...: runs CMD, printing what it is and how long it took.
step() {
	local name=$1; shift
	local start=$SECONDS
	log "$name ..."
	"$@"
	log "$name: done in $((SECONDS - start))s"
}

# gomod_version MODULE: the version of MODULE that go.mod pins.
gomod_version() {
	(cd "$ROOT" && go list -m -f '{{.Version}}' "$1")
}

# files_digest PATH...: one line per file under the PATHs, sorted, "path sha256",
# for content-addressed tags and caches (pipe it into sha256sum with the other inputs).
files_digest() {
	local f
	find "$@" -type f | LC_ALL=C sort | while read -r f; do echo "$f $(sha256sum <"$f")"; done
}

# gomod_dir MODULE: where the pinned MODULE sits in the module cache (downloads it).
gomod_dir() {
	(cd "$ROOT" && go mod download -json "$1@$(gomod_version "$1")" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
}

# publish TMP DEST: moves a finished build into place, so an interrupted build
# never leaves a half-written cache entry.
publish() {
	rm -rf "$2.old"
	[ ! -e "$2" ] || mv "$2" "$2.old"
	mv "$1" "$2"
	rm -rf "$2.old"
}

# staging_replaces KUBE_DIR MINOR_VERSION: a go.mod replace block pinning every
# staging module of k8s.io/kubernetes to its published v0.x release.
staging_replaces() {
	local kdir=$1 ver=$2
	echo "replace ("
	sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$kdir/go.mod" |
		grep -vE '^k8s.io/(sample-cli-plugin|sample-controller)$' |
		while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$ver"; done
	echo ")"
}

# kind_pin NAME: a version kind pins for its node image (containerd, runc, crictl).
kind_pin() {
	local v
	v=$(sed -n "s/^ARG $1=\"\(.*\)\"/\1/p" "$(gomod_dir sigs.k8s.io/kind)/images/base/Dockerfile")
	[ -n "$v" ] || die "cannot find $1 in kind's images/base/Dockerfile"
	echo "$v"
}

# go_build_cached NAME VERSION CGO TAGS PKG@VER...: builds Go commands from the module
# proxy in a scratch module, into $CACHE/NAME/VERSION/ (one binary per package, named
# after its last path element). Skips when that entry is complete. With
# PODSEM_RESOLVE_ONLY=1 it only downloads the modules (hack/prefetch.sh).
go_build_cached() {
	local name=$1 version=$2 cgo=$3 tags=$4; shift 4
	local out=$CACHE/$name/$version
	if [ -f "$out/.complete" ]; then
		log "$name $version: cached in $out"
		return 0
	fi
	local mod=$CACHE/work/$name-$version tmp=$out.tmp pkgs=() p
	rm -rf "$mod" "$tmp" && mkdir -p "$mod" "$tmp"
	for p in "$@"; do pkgs+=("${p%@*}"); done
	(
		cd "$mod"
		printf 'module podsem.local/build/%s\n\ngo 1.26.0\n' "$name" > go.mod
		step "resolve $name $version" go get "$@"
		[ -z "${PODSEM_RESOLVE_ONLY:-}" ] || exit 0
		step "compile $name $version" env CGO_ENABLED="$cgo" go build -trimpath -tags "$tags" \
			-ldflags "-s -w" -o "$tmp/" "${pkgs[@]}"
	)
	if [ -n "${PODSEM_RESOLVE_ONLY:-}" ]; then
		rm -rf "$tmp"
		return 0
	fi
	touch "$tmp/.complete"
	publish "$tmp" "$out"
}

# quiet CMD...: runs CMD showing its output only when it fails.
quiet() {
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	if [ $rc -ne 0 ]; then
		printf '%s\n' "$out" | tail -n 20 >&2
		return $rc
	fi
}

# ensure_packages PKG...: installs the Debian packages among PKG that are missing
# (retrying once after apt-get update), or dies with apt's own error line.
ensure_packages() {
	# Prefetching runs beside other steps, and apt takes one caller at a time.
	[ -z "${PODSEM_RESOLVE_ONLY:-}" ] || return 0
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	[ "$(id -u)" = 0 ] || die "missing Debian packages ${missing[*]}: run as root, or install them yourself"
	log "installing ${missing[*]} from Debian"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/podsem-apt.log 2>&1; then
		apt-get update -qq >>/tmp/podsem-apt.log 2>&1 || true
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/podsem-apt.log 2>&1 ||
			die "apt-get cannot install ${missing[*]}: $(grep -E '^E:' /tmp/podsem-apt.log | tail -n 1) (full log: /tmp/podsem-apt.log)"
	fi
}

# Debian packages the host needs to build the node: debootstrap for the rootfs,
# libseccomp headers for runc.
NODE_BUILD_PACKAGES=(debootstrap libseccomp-dev pkg-config)

# has_sys_resource: whether CAP_SYS_RESOURCE (bit 24) is in this host's capability
# bounding set; without it, privileged containers and gVisor's shim need help.
has_sys_resource() {
	local bnd
	bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
	[ -n "$bnd" ] && (((0x$bnd >> 24) & 1))
}

# profile_arg prints PROFILE as the runs take it: a profile name as it is, a
# profile file by its absolute path (ginkgo and the vendor's shell run in other
# directories). A file that does not exist is an error.
profile_arg() {
	local profile=${PROFILE:-}
	if [[ $profile == */* || $profile == *.yaml ]]; then
		[ -f "$profile" ] || die "PROFILE=$profile: no such file"
		profile=$(realpath "$profile")
	fi
	printf '%s' "$profile"
}

# kubeconfig_arg prints KUBECONFIG (default: the kind cluster's bin/kubeconfig) as
# an absolute path: the suite and the kit's launcher run in other directories, where
# a relative one names nothing. A missing file, or a list of files, is an error.
kubeconfig_arg() {
	local kubeconfig=${KUBECONFIG:-$ROOT/bin/kubeconfig}
	[[ $kubeconfig != *:* ]] || die "KUBECONFIG=$kubeconfig: podsem takes one kubeconfig file, not a list"
	[ -f "$kubeconfig" ] || die "KUBECONFIG=$kubeconfig: no such file$([ -n "${KUBECONFIG:-}" ] || echo ' (make kind-up writes it)')"
	realpath "$kubeconfig"
}

# full_run prints 1 when FULL=1 asks for the whole catalogue, nothing for the
# sample (FULL unset or 0).
full_run() {
	case ${FULL:-} in
	'' | 0) ;;
	1) printf 1 ;;
	*) die "FULL=$FULL: want 1 (the whole catalogue) or nothing (the sample)" ;;
	esac
}

# import_kit_images DIR NODE...: imports the kit's image archives (DIR/images/)
# into each node's containerd the way an air-gapped node would (ctr images
# import), except where the node already holds the archive's image under its
# tag with the same image ID: an earlier import of the same content, skipped
# as `kind load` skips it (podsem.tar's import took 3 s of every warm make e2e).
import_kit_images() {
	local dir=$1 node archive manifest id tag have
	shift
	for archive in podprobe.tar podsem.tar; do
		manifest=$(tar -xOf "$dir/images/$archive" manifest.json 2>/dev/null) ||
			die "$dir/images/$archive holds no manifest.json: not an image archive"
		id=$(jq -r '.[0].Config // empty' <<<"$manifest" | grep -oE '[0-9a-f]{64}' || true)
		tag=$(jq -r '.[0].RepoTags[0] // empty' <<<"$manifest")
		for node in "$@"; do
			have=
			[ -z "$tag" ] || have=$(docker exec "$node" crictl inspecti -o go-template --template '{{.status.id}}' "$tag" 2>/dev/null) || have=
			if [ -n "$id" ] && [ "$have" = "sha256:$id" ]; then
				log "images/$archive: $tag already on $node, same image ID (sha256:${id:0:12}): not imported again"
				continue
			fi
			step "import images/$archive on $node (ctr -n k8s.io images import)" quiet \
				docker exec -i "$node" ctr -n k8s.io images import - <"$dir/images/$archive"
		done
	done
}
