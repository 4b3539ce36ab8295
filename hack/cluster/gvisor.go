package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// gVisor is put on the nodes only for runs that use it: its runsc is among the
// largest compiles of the node's parts (about 1.5 minutes of CPU from nothing),
// and a run under runc never starts it. The node image carries the handler's
// containerd drop-in and runsc-wrapper; `up --runsc PATH` copies runsc onto
// every node that lacks this build of it, and the RuntimeClass gvisor exists
// only where every node has runsc.

const (
	gvisorHandler = "gvisor"
	runscOnNode   = "/usr/local/bin/runsc"
)

// placeRunsc installs the runsc at o.runsc, when set, and returns the handlers
// the cluster offers and whether any node got runsc now.
func placeRunsc(provider *cluster.Provider, o options, handlers []string) ([]string, bool, error) {
	members, err := provider.ListNodes(o.name)
	if err != nil {
		return nil, false, fmt.Errorf("listing the nodes of cluster %s: %w", o.name, err)
	}
	installed := false
	if o.runsc != "" {
		if installed, err = installRunsc(members, o.runsc); err != nil {
			return nil, false, err
		}
	}
	return offeredHandlers(members, handlers), installed, nil
}

// installRunsc copies the runsc at path onto every node whose runsc is absent
// or another build, side by side, and reports whether any node got it.
func installRunsc(members []nodes.Node, path string) (bool, error) {
	want, err := fileDigest(path)
	if err != nil {
		return false, fmt.Errorf("--runsc %s: %w (hack/build-gvisor.sh builds it)", path, err)
	}
	var copied atomic.Bool
	err = eachNode(members, func(n nodes.Node) error {
		if runscDigest(n) == want {
			return nil
		}
		start := time.Now()
		if _, err := docker(2*time.Minute, "cp", path, n.String()+":"+runscOnNode); err != nil {
			return fmt.Errorf("copying runsc onto node %s: %w", n, err)
		}
		if _, err := docker(10*time.Second, "exec", n.String(), "chmod", "0755", runscOnNode); err != nil {
			return fmt.Errorf("making runsc executable on node %s: %w", n, err)
		}
		if got := runscDigest(n); got != want {
			return fmt.Errorf("runsc on node %s is not the one copied (sha256 %q, want %s)", n, got, want)
		}
		logf("gVisor's runsc installed on node %s in %s", n, time.Since(start).Round(time.Millisecond))
		copied.Store(true)
		return nil
	})
	return copied.Load(), err
}

// offeredHandlers drops gvisor from handlers unless every node has runsc: a
// RuntimeClass whose pods cannot start would pass the suite's preflight and
// fail every spec, where its absence gets one line naming the fix.
func offeredHandlers(members []nodes.Node, handlers []string) []string {
	if !slices.Contains(handlers, gvisorHandler) {
		return handlers
	}
	var missing atomic.Int32
	_ = eachNode(members, func(n nodes.Node) error {
		if _, err := docker(10*time.Second, "exec", n.String(), "test", "-x", runscOnNode); err != nil {
			missing.Add(1)
		}
		return nil
	})
	if missing.Load() == 0 {
		return handlers
	}
	logf("RuntimeClass %s: not offered, its runsc is not on the nodes (built and installed only for runs under it: RUNTIME_CLASS=gvisor, RUNTIMES naming it, or make kind-up GVISOR=1)", gvisorHandler)
	return slices.DeleteFunc(slices.Clone(handlers), func(h string) bool { return h == gvisorHandler })
}

// runscDigest is the sha256 of node n's runsc, or "" when it has none.
func runscDigest(n nodes.Node) string {
	out, err := docker(30*time.Second, "exec", n.String(), "sha256sum", runscOnNode)
	if err != nil {
		return ""
	}
	return strings.Fields(out + " ")[0]
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
