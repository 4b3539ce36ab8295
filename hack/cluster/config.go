package main

import (
	"crypto/sha256"
	_ "embed"
	"fmt"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

//go:embed kind-config.yaml
var kindConfig []byte

// maxNodes bounds --nodes: every node is a container running a kubelet and
// the node agents, on a 2-core machine.
const maxNodes = 5

// clusterConfig is kind-config.yaml with workers added so that the cluster
// has nodes nodes in all (one control plane, nodes-1 workers).
func clusterConfig(nodes int) ([]byte, error) {
	if nodes < 1 || nodes > maxNodes {
		return nil, fmt.Errorf("--nodes %d: a cluster has 1 to %d nodes", nodes, maxNodes)
	}
	var c v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(kindConfig, &c); err != nil {
		return nil, fmt.Errorf("reading kind-config.yaml: %w", err)
	}
	if len(c.Nodes) != 1 || c.Nodes[0].Role != v1alpha4.ControlPlaneRole {
		return nil, fmt.Errorf("kind-config.yaml must list exactly one node, the control plane")
	}
	for i := 1; i < nodes; i++ {
		c.Nodes = append(c.Nodes, v1alpha4.Node{Role: v1alpha4.WorkerRole})
	}
	return yaml.Marshal(c)
}

// configDigest names a cluster configuration in the cluster's stamp.
func configDigest(config []byte) string {
	return fmt.Sprintf("%x", sha256.Sum256(config))[:12]
}
