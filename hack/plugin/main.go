// Command plugin prepares the kit's sonobuoy plugin for a real sonobuoy run and
// judges what sonobuoy brought back:
//
//	plugin render --plugin FILE --rbac FILE --out FILE [--kubeconfig K] [--apply]
//	              [--runtime-class RC] [--profile P] [--claim IDS] [--focus IDS] [--pull-policy P]
//	plugin check  --results FILE (--junit | --sonobuoy) --log FILE [--sample] [--profile P]
//	plugin sample
//	plugin await-end --plugin FILE --rbac FILE --kubeconfig K [--timeout D] [--while-pid N]
//
// render decodes the kit's plugin and RBAC files strictly (an unknown field is
// an error, where sonobuoy would ignore it), checks the RBAC file's rules for
// more than the suite may have (wildcards, Secrets, escalate, ...), and writes
// the plugin as the comments of podsem.yaml describe: its podSpec uncommented
// (the RBAC file's ServiceAccount), --runtime-class, --profile, --claim,
// --focus (with --partial) and --pull-policy set in its args, a profile file
// carried in the plugin's config-map. With --apply it applies the RBAC file
// first (after the namespace a `sonobuoy delete` is still deleting has gone).
//
// check reads the testcases of a run, from the run's junit.xml or from
// `sonobuoy results --mode detailed`, prints every catalogue ID with its
// outcome, and fails unless the run is what was asked for: every catalogue ID
// present once; with --sample the sample's IDs ran and the others were
// skipped, never passed; no failure (with --profile, the gate judges them);
// and the plugin's gate line in --log says pass (and partial for a sample).
//
// sample prints the sample, one fast catalogue ID per area, comma-separated.
//
// await-end waits until the plugin's container, in a sonobuoy run started from
// then on, has ended: it orders the kit's checks, and checks nothing.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fail(2, "usage: plugin render|check|sample|await-end [flags] (see hack/plugin/main.go)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "render":
		err = renderCmd(ctx, args)
	case "check":
		err = checkCmd(args)
	case "sample":
		fmt.Println(sampleFocus())
	case "await-end":
		err = awaitEndCmd(ctx, args)
	default:
		fail(2, "unknown command %q: want render, check, sample or await-end", cmd)
	}
	if err != nil {
		var usage usageError
		if errors.As(err, &usage) {
			fail(2, "%v", err)
		}
		fail(1, "plugin %s: %v", os.Args[1], err)
	}
}

// usageError is a mistake in the command line or the files it names.
type usageError struct{ error }

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[podsem] error: "+format+"\n", args...)
	os.Exit(code)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[podsem] plugin: "+format+"\n", args...)
}
