// Command podsem is the launcher of the vendor kit (make dist): it runs the
// pod-semantics suite against any cluster with no Go toolchain and no ginkgo CLI,
// and writes the reports. It is also the entrypoint of the runner image, so the
// same binary runs the suite inside the cluster (the sonobuoy plugin).
//
//	podsem run [--kubeconfig K] [--runtime-class RC] [--image REF] [--profile P]
//	           [--focus ID,... [--partial]] [--claim ID,...] [--parallel N] [--results DIR] [--sonobuoy]
//	podsem list
//	podsem version
//	podsem image push [--runner] REF
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
)

// Set by make dist (-ldflags -X); a build from the repository says devel.
var (
	version           = "devel"
	kubernetesVersion = "unknown"
	// fixtureImage is the podprobe tag the kit's images/podprobe.tar carries.
	fixtureImage = "podsem/podprobe:latest"
	// runnerImage is the tag the kit's images/podsem.tar carries.
	runnerImage = "podsem/podsem:latest"
)

// errUsage marks a mistake in the command line: exit status 2, no stack.
var errUsage = errors.New("usage")

// usageError is a bad command line, reported in one line with exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string    { return e.msg }
func (e usageError) Is(t error) bool  { return t == errUsage }
func usagef(f string, a ...any) error { return usageError{fmt.Sprintf(f, a...)} }

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	var err error
	code := 0
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		code, err = runCmd(rest, stdout, stderr)
	case "list":
		err = listCmd(rest, stdout)
	case "version":
		err = versionCmd(rest, stdout)
	case "image":
		err = imageCmd(rest, stdout, stderr)
	case "help", "-h", "--help":
		usage(stdout)
	default:
		err = usagef("unknown command %q (want run, list, version or image)", cmd)
	}
	if err != nil {
		fmt.Fprintln(stderr, "[podsem] error: "+err.Error())
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return code
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `podsem %s: proves what the containers of one pod share and keep apart, on your cluster and runtime.

usage:
  podsem run [flags]          run the suite; reports in --results (podsem run --help for the flags)
  podsem list                 the catalogue: ID, level, area, semantic
  podsem version              this kit's version, the Kubernetes version it was built against, its images
  podsem image push [--runner] REF
                              push the kit's fixture image (or, with --runner, its runner image) to a registry

Exit status: 0 when every semantic holds (or fails only as the --profile expects), 1 when one fails,
2 for a bad command line, 3 when the cluster cannot run the suite (the preflight's one line says why).
`, version)
}

// newFlagSet is a flag set that reports parse errors as usage errors, not by
// printing its whole help.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args, turning -h into the flags' help on stdout.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintf(stdout, "usage of podsem %s:\n", fs.Name())
			fs.PrintDefaults()
			return true, nil
		}
		return false, usagef("podsem %s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return false, usagef("podsem %s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return false, nil
}

func versionCmd(args []string, stdout io.Writer) error {
	if help, err := parseFlags(newFlagSet("version"), args, stdout); help || err != nil {
		return err
	}
	fmt.Fprintf(stdout, "podsem %s\nkubernetes %s\nfixture image %s\nrunner image %s\ngo %s %s/%s\n",
		version, kubernetesVersion, fixtureImage, runnerImage, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
