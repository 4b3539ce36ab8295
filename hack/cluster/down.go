package main

import (
	"fmt"
	"os"
	"slices"

	"sigs.k8s.io/kind/pkg/cluster"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"
)

func down(o options) error {
	provider := cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindcmd.NewLogger()))
	names, err := provider.List()
	if err != nil {
		return fmt.Errorf("listing kind clusters: %w", err)
	}
	if !slices.Contains(names, o.name) {
		logf("cluster %s does not exist", o.name)
		return nil
	}
	if err := deleteCluster(provider, o.name, o.kubeconfig); err != nil {
		return fmt.Errorf("deleting cluster %s: %w", o.name, err)
	}
	_ = os.Remove(o.kubeconfig)
	logf("cluster %s deleted", o.name)
	return nil
}
