package main

import (
	"testing"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

func TestClusterConfigHasOneControlPlaneAndWorkers(t *testing.T) {
	for _, n := range []int{1, 3} {
		raw, err := clusterConfig(n)
		if err != nil {
			t.Fatalf("clusterConfig(%d): %v", n, err)
		}
		var c v1alpha4.Cluster
		if err := yaml.UnmarshalStrict(raw, &c); err != nil {
			t.Fatalf("clusterConfig(%d) is not a kind configuration: %v", n, err)
		}
		if len(c.Nodes) != n || c.Nodes[0].Role != v1alpha4.ControlPlaneRole {
			t.Fatalf("clusterConfig(%d): nodes %+v", n, c.Nodes)
		}
		for _, node := range c.Nodes[1:] {
			if node.Role != v1alpha4.WorkerRole {
				t.Errorf("clusterConfig(%d): node role %s, want worker", n, node.Role)
			}
		}
		// Every node's kubelet needs the cluster-wide patches (cgroup driver).
		if len(c.KubeadmConfigPatches) != 2 || !c.Networking.DisableDefaultCNI || c.Networking.KubeProxyMode != "none" {
			t.Errorf("clusterConfig(%d) lost kind-config.yaml's settings: %s", n, raw)
		}
	}
	one, _ := clusterConfig(1)
	three, _ := clusterConfig(3)
	if configDigest(one) == configDigest(three) {
		t.Error("clusters of 1 and 3 nodes carry the same stamp")
	}
	for _, n := range []int{0, -1, maxNodes + 1} {
		if _, err := clusterConfig(n); err == nil {
			t.Errorf("clusterConfig(%d) accepted", n)
		}
	}
}
