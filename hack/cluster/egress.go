package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/yaml"
)

// outsideAddrs are dials that must never leave the machine: the kubernetes
// Service's ClusterIP (nothing translates it without kube-proxy) and an
// address of no network of the cluster's (TEST-NET-1).
var outsideAddrs = []string{"10.96.0.1:443", "192.0.2.1:80"}

// podSubnet is the cluster's pod subnet, as kind-config.yaml gives it.
func podSubnet() (string, error) {
	var c v1alpha4.Cluster
	if err := yaml.Unmarshal(kindConfig, &c); err != nil {
		return "", fmt.Errorf("reading kind-config.yaml: %w", err)
	}
	if c.Networking.PodSubnet == "" {
		return "", fmt.Errorf("kind-config.yaml names no networking.podSubnet")
	}
	return c.Networking.PodSubnet, nil
}

// confinePods keeps every node's pod traffic on this machine
// (podsem-confine-pods, in the node image): on every up, since a node that
// docker restarted has lost its rules.
func confinePods(provider *cluster.Provider, name string) error {
	subnet, err := podSubnet()
	if err != nil {
		return err
	}
	nodes, err := provider.ListNodes(name)
	if err != nil {
		return fmt.Errorf("listing the nodes of %s: %w", name, err)
	}
	for _, n := range nodes {
		if out, err := docker(10*time.Second, "exec", n.String(), "podsem-confine-pods", subnet); err != nil {
			return fmt.Errorf("confining pod traffic on node %s: %s", n, firstLine(strings.TrimSpace(out+" "+err.Error())))
		}
	}
	return nil
}

// verifyConfined proves it: a pod's dials to outside addresses fail at once
// with an error from the node, neither answered nor left to time out.
func verifyConfined(ctx context.Context, client kubernetes.Interface, image string) error {
	start := time.Now()
	for _, addr := range outsideAddrs {
		d, err := dialOnce(ctx, client, "default", image, addr)
		if err != nil {
			return fmt.Errorf("checking that pods cannot leave the machine: %w", err)
		}
		if d.Result == "ok" || d.Result == "timeout" || d.Result == "mismatch" {
			return fmt.Errorf("pod traffic can leave the machine: a pod's dial to %s ended %q (%s), not refused at once by the node (podsem-confine-pods)", addr, d.Result, d.Error)
		}
	}
	logf("pod traffic stays on this machine: dials to %s refused at once by the node (checked in %s)",
		strings.Join(outsideAddrs, ", "), time.Since(start).Round(time.Millisecond))
	return nil
}
