package main

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"

	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"
)

// load puts local docker images into every node's containerd, skipping nodes
// that already hold the same image ID (what `kind load docker-image` does).
func load(o options, images []string) error {
	if len(images) == 0 {
		return errors.New("cluster load needs at least one image")
	}
	provider := cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindcmd.NewLogger()))
	members, err := provider.ListInternalNodes(o.name)
	if err != nil || len(members) == 0 {
		return fmt.Errorf("cluster %s has no nodes: run `make kind-up`", o.name)
	}
	// Nodes side by side, each taking the images in order.
	return eachNode(members, func(n nodes.Node) error {
		for _, image := range images {
			id, err := docker(10*time.Second, "image", "inspect", "--format", "{{.Id}}", image)
			if err != nil {
				return fmt.Errorf("image %s is not in the local docker engine: build it first", image)
			}
			if have, err := nodeutils.ImageID(n, image); err == nil && have == id {
				logf("image %s already on node %s", image, n)
				continue
			}
			start := time.Now()
			if err := saveInto(image, func(r io.Reader) error { return nodeutils.LoadImageArchive(n, r) }); err != nil {
				return fmt.Errorf("loading %s into node %s: %w", image, n, err)
			}
			logf("image %s loaded into node %s in %s", image, n, time.Since(start).Round(time.Millisecond))
		}
		return nil
	})
}

// saveInto streams `docker save IMAGE` into consume.
func saveInto(image string, consume func(io.Reader) error) error {
	cmd := exec.Command("docker", "save", image)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	consumeErr := consume(out)
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("docker save: %w", err)
	}
	return consumeErr
}
