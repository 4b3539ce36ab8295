package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
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
// the cluster offers and whether any node got runsc now; then only once every
// kubelet knows the handler's features as its restarted containerd reports them
// (read through client).
func placeRunsc(ctx context.Context, provider *cluster.Provider, client kubernetes.Interface, o options, handlers []string) ([]string, bool, error) {
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
	if installed {
		if err := awaitKubeletFeatures(ctx, client, members); err != nil {
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
		if err := restartContainerd(n); err != nil {
			return err
		}
		logf("gVisor's runsc installed on node %s, containerd restarted, in %s", n, time.Since(start).Round(time.Millisecond))
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

// handlerFeatures is what a runtime handler offers, as the CRI and the node's
// status say it.
type handlerFeatures struct{ recursiveReadOnly, userNamespaces bool }

// restartContainerd restarts node n's containerd and waits until its CRI
// answers for the gvisor handler again: containerd learns a handler's features
// (user namespaces among them) from its runtime only when it starts, so
// without it a node given runsc later would offer less than one booted with it.
func restartContainerd(n nodes.Node) error {
	if _, err := docker(time.Minute, "exec", n.String(), "systemctl", "restart", "containerd"); err != nil {
		return fmt.Errorf("restarting containerd on node %s: %w", n, err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := criFeatures(n)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd on node %s, restarted for runsc, did not answer within a minute: %w", n, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// criFeatures reads what node n's CRI says the gvisor handler offers.
func criFeatures(n nodes.Node) (handlerFeatures, error) {
	out, err := docker(10*time.Second, "exec", n.String(), "crictl", "info")
	if err != nil {
		return handlerFeatures{}, err
	}
	var info struct {
		RuntimeHandlers []struct {
			Name     string `json:"name"`
			Features struct {
				RecursiveReadOnly bool `json:"recursive_read_only_mounts"`
				UserNamespaces    bool `json:"user_namespaces"`
			} `json:"features"`
		} `json:"runtimeHandlers"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return handlerFeatures{}, fmt.Errorf("crictl info on node %s: %w", n, err)
	}
	for _, h := range info.RuntimeHandlers {
		if h.Name == gvisorHandler {
			return handlerFeatures{h.Features.RecursiveReadOnly, h.Features.UserNamespaces}, nil
		}
	}
	return handlerFeatures{}, fmt.Errorf("the CRI of node %s lists no handler %s", n, gvisorHandler)
}

// awaitKubeletFeatures waits, at most 90 s, until every node's status shows
// the gvisor handler's features as its CRI reports them: the kubelet admits a
// pod (hostUsers: false among them) by what it last read from the runtime.
func awaitKubeletFeatures(ctx context.Context, client kubernetes.Interface, members []nodes.Node) error {
	deadline := time.Now().Add(90 * time.Second)
	for _, n := range members {
		// Read once: the CRI answered after the restart, and its features
		// change only with another.
		want, err := criFeatures(n)
		if err != nil {
			return err
		}
		for {
			node, err := client.CoreV1().Nodes().Get(ctx, n.String(), metav1.GetOptions{})
			if err == nil && statusFeatures(node) == want {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("node %s's status did not show the gvisor handler's features as its CRI reports them (%+v) within 90 s of containerd's restart (err: %v)", n, want, err)
			}
			time.Sleep(time.Second)
		}
	}
	return nil
}

// statusFeatures is what node's status says the gvisor handler offers.
func statusFeatures(node *corev1.Node) handlerFeatures {
	for _, h := range node.Status.RuntimeHandlers {
		if h.Name == gvisorHandler && h.Features != nil {
			return handlerFeatures{
				recursiveReadOnly: h.Features.RecursiveReadOnlyMounts != nil && *h.Features.RecursiveReadOnlyMounts,
				userNamespaces:    h.Features.UserNamespaces != nil && *h.Features.UserNamespaces,
			}
		}
	}
	return handlerFeatures{}
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
