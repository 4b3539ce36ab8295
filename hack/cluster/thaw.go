package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/cluster"
)

// freezerRoot is the cgroup v1 freezer hierarchy (absent on cgroup v2 hosts).
const freezerRoot = "/sys/fs/cgroup/freezer"

// deleteCluster deletes cluster name. On cgroup v1, runc freezes a container while
// it updates its cgroups; a runc killed mid-update leaves the cgroup FROZEN, and
// docker then cannot kill the node ("did not receive an exit event"). When a
// delete fails, frozen cgroups under the nodes are thawed and the delete retried.
func deleteCluster(provider *cluster.Provider, name, kubeconfig string) error {
	err := provider.Delete(name, kubeconfig)
	if err == nil {
		return nil
	}
	nodes, _ := provider.ListNodes(name)
	thawed := 0
	for _, n := range nodes {
		id, inspectErr := docker(10*time.Second, "inspect", "--format", "{{.Id}}", n.String())
		if inspectErr == nil {
			thawed += thaw(filepath.Join(freezerRoot, "docker", id))
		}
	}
	if thawed == 0 {
		return err
	}
	logf("thawed %d frozen cgroup(s) under the cluster's nodes; deleting again", thawed)
	return provider.Delete(name, kubeconfig)
}

// thaw writes THAWED to every frozen freezer cgroup below dir and counts them.
func thaw(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "freezer.state" {
			return nil
		}
		if state, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(state)) != "THAWED" {
			if os.WriteFile(path, []byte("THAWED"), 0o644) == nil {
				n++
			}
		}
		return nil
	})
	return n
}
