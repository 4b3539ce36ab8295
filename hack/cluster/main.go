// Command cluster creates, checks, loads and deletes podsem's kind cluster through
// kind's Go library (sigs.k8s.io/kind/pkg/cluster).
//
//	cluster up   --image NODE_IMAGE --dns-image COREDNS_IMAGE --load PODPROBE_IMAGE [--load IMAGE]... [--nodes N] [--runsc PATH] [--name podsem] [--kubeconfig PATH] [--handlers DIR]
//	cluster down [--name podsem] [--kubeconfig PATH]
//	cluster load [--name podsem] IMAGE...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

const usage = `usage: cluster up|down|load [flags]
  up    create the kind cluster if absent, stale or unhealthy; ensure its RuntimeClasses
  down  delete the kind cluster
  load  load local docker images into every node (skipped when already present)`

// options are the flags every subcommand shares.
type options struct {
	name       string
	image      string
	kubeconfig string
	handlers   string
	// load are local images put into the nodes after up; the first of them is
	// also the podprobe image used to verify sandboxed runtime handlers.
	load []string
	// dnsImage is the CoreDNS image, loaded too.
	dnsImage string
	// runsc is gVisor's runsc, put on every node that lacks it (up); empty
	// leaves the nodes as they are.
	runsc string
	// nodes is how many nodes the cluster has (up); 0 keeps an existing
	// cluster's count, and gives a new one a single node.
	nodes int
}

func main() {
	if len(os.Args) < 2 {
		fail(2, "%s", usage)
	}
	sub := os.Args[1]
	fs := flag.NewFlagSet(sub, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	var o options
	fs.StringVar(&o.name, "name", "podsem", "kind cluster name")
	fs.StringVar(&o.image, "image", "", "node image (up)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "bin/kubeconfig", "where to write the cluster's kubeconfig")
	fs.StringVar(&o.handlers, "handlers", "images/kind-node/files/etc/containerd/conf.d",
		"directory of the node's containerd runtime-handler drop-ins; each NAME.toml gets a RuntimeClass NAME")
	fs.StringVar(&o.dnsImage, "dns-image", "", "(up) the local CoreDNS image the cluster runs as its DNS (hack/build-coredns.sh)")
	fs.StringVar(&o.runsc, "runsc", "", "(up) gVisor's runsc (hack/build-gvisor.sh --path), installed on the nodes for RuntimeClass gvisor; unset: gvisor is offered only if the nodes have it")
	fs.IntVar(&o.nodes, "nodes", 0, fmt.Sprintf("(up) nodes in the cluster, 1 to %d: a control plane and workers; 0 keeps an existing cluster's count (a new one gets 1)", maxNodes))
	fs.Func("load", "(up) a local image to load into the nodes; repeatable", func(v string) error {
		o.load = append(o.load, v)
		return nil
	})
	// A bad flag gets the flag package's one line, not the whole usage.
	fs.Usage = func() {}
	if err := fs.Parse(os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, usage)
			fs.SetOutput(os.Stderr)
			fs.PrintDefaults()
			os.Exit(0)
		}
		os.Exit(2)
	}
	if o.nodes < 0 || o.nodes > maxNodes {
		fail(2, "--nodes %d: a cluster has 1 to %d nodes (0 keeps an existing cluster's count)", o.nodes, maxNodes)
	}
	if err := dockerAnswers(); err != nil {
		fail(1, "%v", err)
	}
	ctx := context.Background()
	var err error
	switch sub {
	case "up":
		err = up(ctx, o)
	case "down":
		err = down(o)
	case "load":
		err = load(o, fs.Args())
	default:
		fail(2, "unknown subcommand %q\n%s", sub, usage)
	}
	if err != nil {
		fail(1, "%v", err)
	}
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[podsem] error: "+format+"\n", args...)
	os.Exit(code)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[podsem] "+format+"\n", args...)
}

// dockerAnswers fails fast, with the fix, when no Docker engine answers.
func dockerAnswers() error {
	if _, err := docker(10*time.Second, "version", "--format", "{{.Server.Version}}"); err != nil {
		return fmt.Errorf("no Docker engine answers (%v): run `make docker`", err)
	}
	return nil
}

// docker runs the docker CLI with a deadline and returns its trimmed stdout.
func docker(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return "", fmt.Errorf("docker %s: no answer within %s", args[0], timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("docker %s: %s", args[0], firstLine(msg))
	}
	return strings.TrimSpace(string(out)), nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
