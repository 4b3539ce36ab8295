// Command incluster runs podsem's sonobuoy plugin the way sonobuoy's Job driver
// does, without sonobuoy, on the kind cluster, and checks the plugin's side of
// the sonobuoy worker contract:
//
//	incluster --plugin FILE [--rbac FILE] [--version V] [--kubeconfig K] [--name podsem] [--timeout 15m] [--keep]
//	          [--runtime-class RC] [--profile P] [--claim IDS]
//
// It applies the RBAC file (create or update each object), starts one bare pod
// in the RBAC file's namespace as its ServiceAccount, with the plugin's `spec`
// container as its only container and its `results` volume a hostPath directory
// on the node, waits until the pod ends, prints the tail of its log, then reads
// the results directory on the node through kind: <dir>/done must name a file
// inside the directory that exists, and <dir>/junit.xml must be JUnit XML with at
// least one testcase and no failures (with --profile, failures are the plugin's
// gate's to judge: the pod's phase says what it found). It deletes the pod (the
// RBAC objects stay) and prints one closing line, or one error line and exits 1. --runtime-class,
// --profile and --claim set those launcher flags in the plugin's args, so that
// the run is judged like the caller's runs outside the cluster; a profile file
// reaches the pod in a ConfigMap.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	kubeconfig string
	name       string
	plugin     string
	rbac       string
	version    string
	timeout    time.Duration
	keep       bool
	judging    judging
}

func main() {
	fs := flag.NewFlagSet("incluster", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	var o options
	fs.StringVar(&o.kubeconfig, "kubeconfig", "bin/kubeconfig", "kubeconfig of the kind cluster (an admin's: it applies the RBAC objects)")
	fs.StringVar(&o.name, "name", "podsem", "kind cluster name")
	fs.StringVar(&o.plugin, "plugin", "", "the sonobuoy plugin definition (docs/sonobuoy/podsem.yaml, rendered or with --version)")
	fs.StringVar(&o.rbac, "rbac", "docs/sonobuoy/rbac.yaml", "the Namespace, ServiceAccount, ClusterRole and ClusterRoleBinding the plugin pod runs with")
	fs.StringVar(&o.version, "version", "", "replace the token "+versionToken+" in the plugin with this kit version")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Minute, "how long the plugin pod may take to end")
	fs.BoolVar(&o.keep, "keep", false, "keep the results directory on the node (it is printed)")
	fs.StringVar(&o.judging.runtimeClass, "runtime-class", "", "set the plugin's --runtime-class to this RuntimeClass")
	fs.StringVar(&o.judging.profile, "profile", "", "add --profile to the plugin's args: an embedded profile, or a YAML file (passed in a ConfigMap)")
	fs.StringVar(&o.judging.claim, "claim", "", "add --claim to the plugin's args: Optional IDs, comma-separated, that must pass")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fail(2, "unexpected argument %q", fs.Arg(0))
	}
	if o.plugin == "" {
		fail(2, "incluster needs --plugin FILE (docs/sonobuoy/podsem.yaml)")
	}
	if o.timeout <= 0 {
		fail(2, "--timeout must be positive")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	summary, err := run(ctx, o)
	if err != nil {
		var usage usageError
		if errors.As(err, &usage) {
			fail(2, "%v", err)
		}
		fail(1, "incluster: %v", err)
	}
	fmt.Println("incluster: " + summary)
}

// usageError is a mistake in the command line or the files it names.
type usageError struct{ error }

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[podsem] error: "+format+"\n", args...)
	os.Exit(code)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[podsem] incluster: "+format+"\n", args...)
}
