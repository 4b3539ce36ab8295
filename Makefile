# podsem: `make e2e` (everything, from a fresh machine) and `make test` (no cluster).
# Every target is idempotent and skips what is already built; hack/ holds the steps.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Independent steps run side by side (the first make e2e's critical path is the
# Kubernetes compile: downloads, debootstrap and the Docker engine go beside it).
MAKEFLAGS += -j4
# Every Go program of podsem is built as the node's Kubernetes binaries are
# (static, trimmed), so one set of compiled packages in the Go build cache
# serves them all.
export CGO_ENABLED := 0
export GOFLAGS := -buildvcs=false -trimpath

BIN          := $(CURDIR)/bin
CLUSTER_NAME ?= podsem
KIND_KUBECONFIG := $(BIN)/kubeconfig
TIMED        := hack/timed.sh

GO_SOURCES = $(shell find $(1) -name '*.go' -o -name '*.yaml' -o -name '*.toml' 2>/dev/null) go.mod go.sum

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -e 's/:.*## /\t/' -e 's/\$$\$$/$$/g' | expand -t 16

## --- environment ---

.PHONY: docker
docker: ## a Docker engine that answers (installs and starts dockerd when needed)
	@hack/docker.sh

.PHONY: tools
tools: $(BIN)/kind $(BIN)/ginkgo $(BIN)/sonobuoy ## kind, the ginkgo CLI and sonobuoy, at the versions go.mod pins, into bin/

# When the goals build a kind cluster, the Go programs that share packages
# with the Kubernetes compile wait for it, and podsem's own come one at a time
# while the cluster starts: two compiles of one package at once each do the
# whole work (measured: a cold make e2e took 90 s longer when they overlapped).
ifeq ($(KUBECONFIG),)
ifneq ($(filter e2e e2e-% kind-up bench,$(MAKECMDGOALS)),)
AFTER = | $(1)
endif
endif

$(BIN)/kind: go.mod go.sum $(call AFTER,$(BIN)/report)
$(BIN)/ginkgo: go.mod go.sum $(call AFTER,$(BIN)/pod.test)
$(BIN)/kind $(BIN)/ginkgo:
	@$(TIMED) "build $(@F) (pinned in go.mod)" go build -o $@ $(if $(filter kind,$(@F)),sigs.k8s.io/kind,github.com/onsi/ginkgo/v2/ginkgo)

# Static: its aggregator and worker image (hack/build-sonobuoy-image.sh) is this binary FROM scratch.
$(BIN)/sonobuoy: go.mod go.sum $(call AFTER,$(BIN)/ginkgo)
	@$(TIMED) "build sonobuoy (pinned in go.mod; static)" go build -ldflags '-s -w' -o $@ github.com/vmware-tanzu/sonobuoy

$(BIN)/cluster: $(call GO_SOURCES,hack/cluster) $(call AFTER,kubernetes)
	@$(TIMED) "build bin/cluster" go build -o $@ ./hack/cluster

.PHONY: node-image
node-image: docker kubernetes rootfs prefetch ## the kind node image, built from source (tag = hash of its inputs)
	@hack/build-node-image.sh

# The node image's parts that make runs beside the others (the node image's
# own script builds the rest, two lanes at once).
.PHONY: kubernetes rootfs prefetch coredns-image podprobe-image
kubernetes: # the Kubernetes binaries, compiled from the version go.mod pins
	@hack/build-kubernetes.sh
rootfs: docker # the node's Debian root filesystem (debootstrap), as an image
	@hack/build-rootfs.sh
prefetch: # the Go modules of every component built from source, downloaded
	@hack/prefetch.sh
coredns-image: docker prefetch $(call AFTER,kubernetes) # the cluster's DNS, built from source
	@hack/build-coredns.sh >/dev/null
podprobe-image: docker $(call AFTER,kubernetes) # the fixture image (tag = hash of its sources) in bin/podprobe.image
	@hack/build-podprobe-image.sh >/dev/null

# gVisor's runsc is compiled, and put on the nodes, only for a run that uses it:
# a RUNTIME_CLASS or RUNTIMES naming gvisor, or GVISOR=1 (among the largest compiles of
# the node's parts, which a run under runc never starts).
GVISOR_RUN = $(if $(filter gvisor,$(RUNTIME_CLASS) $(RUNTIMES)),1,$(filter-out 0,$(GVISOR)))

.PHONY: gvisor
gvisor: prefetch $(call AFTER,kubernetes) # gVisor's runsc, compiled from the version hack/build-gvisor.sh pins
	@hack/build-gvisor.sh

.PHONY: kind-up
kind-up: node-image coredns-image podprobe-image $(BIN)/cluster $(if $(GVISOR_RUN),gvisor) ## a Ready kind cluster "podsem" (NODES=3: a control plane and 2 workers; unset: as it is, 1 when new) with RuntimeClasses and podprobe loaded; GVISOR=1 (or RUNTIME_CLASS/RUNTIMES naming gvisor) puts gVisor's runsc on its nodes; kubeconfig in bin/kubeconfig
	@$(TIMED) "kind cluster $(CLUSTER_NAME)" $(BIN)/cluster up --name $(CLUSTER_NAME) \
		--image "$$(hack/node-image-tag.sh)" --kubeconfig $(KIND_KUBECONFIG) \
		--load "$$(cat $(BIN)/podprobe.image)" --load podsem/podprobe:latest --dns-image "$$(hack/build-coredns.sh)" \
		$(if $(NODES),--nodes $(NODES)) $(if $(GVISOR_RUN),--runsc "$$(hack/build-gvisor.sh --path)")

.PHONY: kind-down
kind-down: $(BIN)/cluster ## delete the kind cluster
	@$(BIN)/cluster down --name $(CLUSTER_NAME) --kubeconfig $(KIND_KUBECONFIG)

## --- tests ---

# Static and trimmed, as the node's Kubernetes binaries and the kit's suite are built:
# one set of compiled packages in the Go build cache serves all three.
SUITE_SOURCES = $(call GO_SOURCES,suites framework fixtures)

$(BIN)/pod.test: $(SUITE_SOURCES) $(call AFTER,node-image)
	@$(TIMED) "compile the suite (bin/pod.test)" go test -c -ldflags "-s -w" -o $@ ./suites/pod

.PHONY: test
test: $(BIN)/pod.test ## go vet, unit tests, and a dry run of the suite against the catalogue (no cluster)
	@$(TIMED) "gofmt" bash -c 'files=$$(gofmt -l $$(git ls-files "*.go")); [ -z "$$files" ] || { echo "gofmt needed: $$files"; exit 1; }'
	@$(TIMED) "go vet" go vet ./...
	@$(TIMED) "unit tests" go test $$(go list ./... | grep -v /suites/)
	@$(TIMED) "suite dry run" bash -c 'out=$$($(BIN)/pod.test --ginkgo.dry-run --ginkgo.no-color 2>&1) || \
		{ printf "%s\n" "$$out" | tail -n 40; exit 1; }; printf "%s\n" "$$out" | grep -E "^Ran [0-9]+ of"'
	@$(TIMED) "catalogue check" $(BIN)/pod.test --provider=skeleton --podsem.check-catalogue 2>&1 | grep -v -E "in-cluster config|provider flag"

# With KUBECONFIG set, e2e runs against that cluster and never touches kind.
E2E_CLUSTER := $(if $(KUBECONFIG),,kind-up)
# What the kit's checks run beside the kit: sonobuoy, and the plugin's renderer and judge.
KIT_TOOLS := $(BIN)/sonobuoy $(BIN)/plugin $(BIN)/cluster

.PHONY: e2e
# On the kind cluster, e2e proves the vendor kit too (make e2e-kit), beside the suite.
e2e: $(E2E_CLUSTER) $(BIN)/pod.test $(BIN)/ginkgo $(if $(KUBECONFIG),,$(KIT_TOOLS)) ## the suite on the kind cluster (or $$KUBECONFIG's), and the vendor kit beside it on kind; reports in _artifacts/
	@$(if $(KUBECONFIG),hack/e2e.sh,KUBECONFIG=$(KIND_KUBECONFIG) CLUSTER_NAME=$(CLUSTER_NAME) hack/e2e-with-kit.sh)

.PHONY: e2e-clean
e2e-clean: $(BIN)/pod.test ## delete the namespaces an interrupted run left behind
	@$(BIN)/pod.test --kubeconfig=$${KUBECONFIG:-$(KIND_KUBECONFIG)} --provider=skeleton --podsem.clean 2>&1 | grep -v 'provider flag'

.PHONY: images
images: podprobe-image $(BIN)/cluster ## the podprobe image (tag = hash of its sources); loaded into the cluster when it is up
	@if docker inspect $(CLUSTER_NAME)-control-plane >/dev/null 2>&1; then \
		$(TIMED) "load podprobe into kind cluster $(CLUSTER_NAME)" $(BIN)/cluster load --name $(CLUSTER_NAME) \
			"$$(cat $(BIN)/podprobe.image)" podsem/podprobe:latest; \
	fi
	@echo "podprobe image: $$(cat $(BIN)/podprobe.image)"

$(BIN)/faults: $(call GO_SOURCES,hack/faults images/faults framework/catalogue) $(call AFTER,$(BIN)/report)
	@$(TIMED) "build bin/faults" go build -o $@ ./hack/faults

.PHONY: e2e-faults
e2e-faults: kind-up $(BIN)/pod.test $(BIN)/ginkgo $(BIN)/report $(BIN)/faults ## the suite under runc and every fault handler; _artifacts/faults.md
	@$(BIN)/faults --artifacts _artifacts $(if $(FAULTS),--only $(FAULTS))

## --- reports ---

$(BIN)/report: $(call GO_SOURCES,hack/report framework/report framework/catalogue framework/profiles) $(wildcard framework/report/*.tmpl) $(call AFTER,$(BIN)/plugin)
	@$(TIMED) "build bin/report" go build -o $@ ./hack/report

# hack/e2e.sh leaves the exit status to bin/report gate.
e2e: $(BIN)/report

RUNTIMES ?= runc crun
# What the reports cannot say: the Kubernetes version go.mod pins (shown when no
# run reported the cluster's) and, on the kind cluster, kind's version.
REPORT_META = --kubernetes-version "$$(go list -m -f '{{.Version}}' k8s.io/kubernetes)" \
	$(if $(filter-out $(KIND_KUBECONFIG),$(KUBECONFIG)),,--kind-version "$$(go list -m -f '{{.Version}}' sigs.k8s.io/kind)")

.PHONY: e2e-matrix
e2e-matrix: $(E2E_CLUSTER) $(BIN)/pod.test $(BIN)/ginkgo $(BIN)/report ## the suite under each RuntimeClass in RUNTIMES ("runc crun"), each judged by its own profile (PROFILES='gvisor=gvisor'); _artifacts/report.{md,html}; status: the gate
	@RUNTIMES="$(RUNTIMES)" hack/e2e-matrix.sh $(REPORT_META)

.PHONY: bench
bench: $(E2E_CLUSTER) $(BIN)/pod.test $(BIN)/ginkgo $(BIN)/report ## times the suite on the current cluster: BENCH_RUNS runs (5; median, min, max wall), one warm make e2e (BENCH_E2E=0 skips it), the ten slowest specs by phase; _artifacts/bench.{md,json}
	@hack/bench.sh

.PHONY: e2e-rerun
e2e-rerun: $(E2E_CLUSTER) $(BIN)/pod.test $(BIN)/ginkgo $(BIN)/report ## run again only the specs that failed in _artifacts/report.json (pass the same RUNTIME_CLASS=)
	@ids=$$($(BIN)/report failed --report _artifacts/report.json); \
	if [ -z "$$ids" ]; then echo "[podsem] e2e-rerun: no spec failed in _artifacts/report.json, nothing to run again"; exit 0; fi; \
	ids=$$(echo $$ids); echo "[podsem] e2e-rerun: running again $$ids"; \
	LABELS="$${ids// / || }" PARTIAL=1 hack/e2e.sh

## --- the vendor kit ---

.PHONY: dist
dist: docker ## the vendor kit: _dist/podsem-<version>-linux-amd64.tar.gz (launcher, static suite, images, sonobuoy plugin)
	@hack/build-dist.sh >/dev/null

$(BIN)/plugin: $(call GO_SOURCES,hack/plugin framework/profiles framework/catalogue) $(call AFTER,$(BIN)/sonobuoy)
	@$(TIMED) "build bin/plugin" go build -o $@ ./hack/plugin

# The kit's checks import images into the kind nodes: on the kind cluster only.
# They run a sample, one fast ID per area (bin/plugin sample); FULL=1 runs every ID.
.PHONY: e2e-kit
e2e-kit: kind-up $(KIT_TOOLS) ## the kit from its tarball alone (no Go on PATH) on the kind cluster: list, bad input, podsem run, the plugin under sonobuoy; a sample of IDs (FULL=1: all); _artifacts/kit
	@KUBECONFIG=$(KIND_KUBECONFIG) CLUSTER_NAME=$(CLUSTER_NAME) FULL=$(FULL) hack/e2e-kit.sh "$$(hack/build-dist.sh)"

.PHONY: e2e-sonobuoy
e2e-sonobuoy: kind-up $(KIT_TOOLS) ## the kit's plugin under sonobuoy (go.mod's version, local image) on the kind cluster, as rbac.yaml's ServiceAccount; a sample (FULL=1: all); _artifacts/sonobuoy
	@KUBECONFIG=$(KIND_KUBECONFIG) CLUSTER_NAME=$(CLUSTER_NAME) FULL=$(FULL) hack/e2e-sonobuoy.sh "$$(hack/build-dist.sh)"
