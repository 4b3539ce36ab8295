package main

import (
	"os"
	"testing"

	"sigs.k8s.io/yaml"
)

// kube-proxy's clusterCIDR (in the node image) must be the pod subnet the
// cluster is made with, which podsem-confine-pods confines too.
func TestKubeProxyClusterCIDRIsThePodSubnet(t *testing.T) {
	subnet, err := podSubnet()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../images/kind-node/files/etc/podsem/kube-proxy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ClusterCIDR string `json:"clusterCIDR"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.ClusterCIDR != subnet {
		t.Errorf("kube-proxy.yaml clusterCIDR %q, kind-config.yaml podSubnet %q", cfg.ClusterCIDR, subnet)
	}
}
