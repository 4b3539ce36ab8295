# podsem: `make e2e` (everything, from a fresh machine) and `make test` (no cluster).
# Every target is idempotent and skips what is already built; hack/ holds the steps.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
export GOFLAGS := -buildvcs=false

BIN          := $(CURDIR)/bin
CLUSTER_NAME ?= podsem
KIND_KUBECONFIG := $(BIN)/kubeconfig
TIMED        := hack/timed.sh

GO_SOURCES = $(shell find $(1) -name '*.go' -o -name '*.yaml' -o -name '*.toml' 2>/dev/null) go.mod go.sum

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

## --- environment ---

.PHONY: docker
docker: ## a Docker engine that answers (installs and starts dockerd when needed)
	@hack/docker.sh

.PHONY: tools
tools: $(BIN)/kind $(BIN)/ginkgo ## kind and the ginkgo CLI, at the versions go.mod pins, into bin/

$(BIN)/kind $(BIN)/ginkgo: go.mod go.sum
	@$(TIMED) "build $(@F) (pinned in go.mod)" go build -o $@ $(if $(filter kind,$(@F)),sigs.k8s.io/kind,github.com/onsi/ginkgo/v2/ginkgo)

$(BIN)/cluster: $(call GO_SOURCES,hack/cluster)
	@$(TIMED) "build bin/cluster" go build -o $@ ./hack/cluster

.PHONY: node-image
node-image: docker ## the kind node image, built from source (tag = hash of its inputs)
	@hack/build-node-image.sh

.PHONY: kind-up
kind-up: node-image $(BIN)/cluster ## a Ready kind cluster "podsem" with RuntimeClasses; kubeconfig in bin/kubeconfig
	@$(TIMED) "kind cluster $(CLUSTER_NAME)" $(BIN)/cluster up --name $(CLUSTER_NAME) \
		--image "$$(hack/node-image-tag.sh)" --kubeconfig $(KIND_KUBECONFIG)

.PHONY: kind-down
kind-down: $(BIN)/cluster ## delete the kind cluster
	@$(BIN)/cluster down --name $(CLUSTER_NAME) --kubeconfig $(KIND_KUBECONFIG)

## --- tests ---

.PHONY: test
test: ## go vet and unit tests (no cluster)
	@$(TIMED) "go vet" go vet ./...
	@$(TIMED) "unit tests" go test ./...

.PHONY: images
images: docker $(BIN)/cluster ## the podprobe image (tag = hash of its sources); loaded into the cluster when it is up
	@hack/build-podprobe-image.sh >/dev/null
	@if docker inspect $(CLUSTER_NAME)-control-plane >/dev/null 2>&1; then \
		$(TIMED) "load podprobe into kind cluster $(CLUSTER_NAME)" $(BIN)/cluster load --name $(CLUSTER_NAME) \
			"$$(cat $(BIN)/podprobe.image)" podsem/podprobe:latest; \
	fi
	@echo "podprobe image: $$(cat $(BIN)/podprobe.image)"
