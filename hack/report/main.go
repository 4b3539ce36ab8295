// Command report turns the suite's Ginkgo JSON reports into what CI gates on and
// runtime vendors share.
//
//	report gate   --report [NAME=]report.json ... [--profile NAME]
//	report render --run NAME=report.json ... [--profile NAME] --out DIR
//	report failed --report report.json
//
// gate prints one line per failed spec and exits 0 only when every failure is a
// known divergence of the profile (with no profile: when nothing failed). render
// writes DIR/report.md and DIR/report.html, the matrix of catalogue IDs by run.
// failed prints the IDs of the failed specs, for make e2e-rerun. The logic is
// in framework/report, so that a launcher can gate and render in-process.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/podsem/podsem/framework/profiles"
	"github.com/podsem/podsem/framework/report"
)

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	var code int
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "gate":
		code = gateCmd(args, os.Stdout, os.Stderr)
	case "render":
		code = renderCmd(args, os.Stderr)
	case "failed":
		code = failedCmd(args, os.Stdout, os.Stderr)
	case "-h", "--help", "help":
		usage(os.Stdout)
	default:
		fmt.Fprintf(os.Stderr, "[podsem] error: report: unknown command %q\n", cmd)
		usage(os.Stderr)
		code = 2
	}
	os.Exit(code)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  report gate   --report [NAME=]report.json ... [--profile NAME]   exit 0 when every failure is a known divergence
  report render --run NAME=report.json ... [--profile NAME] --out DIR   writes DIR/report.md and DIR/report.html
  report failed --report report.json                                 the IDs of the failed specs
`)
}

// runFlags collects repeated --run/--report values, NAME=path or a bare path.
type runFlags []report.NamedPath

func (f *runFlags) String() string { return "" }

func (f *runFlags) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok {
		name, path = v, v
	}
	if name == "" || path == "" {
		return fmt.Errorf("want NAME=path/report.json, got %q", v)
	}
	for _, r := range *f {
		if r.Name == name {
			return fmt.Errorf("run %s given twice", name)
		}
	}
	*f = append(*f, report.NamedPath{Name: name, Path: path})
	return nil
}

func loadProfile(name string) (*profiles.Profile, error) {
	if name == "" {
		return nil, nil
	}
	return profiles.Load(name)
}

func parse(fs *flag.FlagSet, args []string, stderr io.Writer) bool {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "[podsem] error: report %s: unexpected arguments %v\n", fs.Name(), fs.Args())
		return false
	}
	return true
}

func gateCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gate", flag.ContinueOnError)
	var runs runFlags
	fs.Var(&runs, "report", "a Ginkgo JSON report, [NAME=]path; repeatable")
	profile := fs.String("profile", "", "known-divergence profile: "+strings.Join(profiles.Names(), ", ")+", or a YAML file")
	if !parse(fs, args, stderr) {
		return 2
	}
	if len(runs) == 0 {
		fmt.Fprintln(stderr, "[podsem] error: report gate: no --report given")
		return 2
	}
	p, err := loadProfile(*profile)
	if err != nil {
		fmt.Fprintf(stderr, "[podsem] error: report gate: %v\n", err)
		return 2
	}
	v := report.Gate(report.LoadRuns(runs), p)
	for _, l := range v.Lines {
		fmt.Fprintln(stdout, l)
	}
	fmt.Fprintln(stdout, v.Summary(p))
	if !v.OK() {
		return 1
	}
	return 0
}

func renderCmd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	var runs runFlags
	fs.Var(&runs, "run", "NAME=path/report.json, one column of the matrix; repeatable")
	profile := fs.String("profile", "", "known-divergence profile: "+strings.Join(profiles.Names(), ", ")+", or a YAML file")
	out := fs.String("out", "", "directory for report.md and report.html")
	var m report.Meta
	fs.StringVar(&m.Kubernetes, "kubernetes-version", "", "the Kubernetes version go.mod pins, shown when no run's preflight names the cluster's")
	fs.StringVar(&m.Kind, "kind-version", "", "the kind version, when the cluster is the kind one")
	if !parse(fs, args, stderr) {
		return 2
	}
	if len(runs) == 0 || *out == "" {
		fmt.Fprintln(stderr, "[podsem] error: report render: want at least one --run NAME=report.json and --out DIR")
		return 2
	}
	p, err := loadProfile(*profile)
	if err != nil {
		fmt.Fprintf(stderr, "[podsem] error: report render: %v\n", err)
		return 2
	}
	if err := report.Render(*out, report.LoadRuns(runs), p, m); err != nil {
		fmt.Fprintf(stderr, "[podsem] error: report render: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "[podsem] report: %s/report.md %s/report.html\n", *out, *out)
	return 0
}

func failedCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("failed", flag.ContinueOnError)
	path := fs.String("report", "", "a Ginkgo JSON report")
	if !parse(fs, args, stderr) {
		return 2
	}
	if *path == "" {
		fmt.Fprintln(stderr, "[podsem] error: report failed: no --report given")
		return 2
	}
	ids, err := report.FailedIDs(*path)
	if err != nil {
		fmt.Fprintf(stderr, "[podsem] error: report failed: %v\n", err)
		return 1
	}
	for _, id := range ids {
		fmt.Fprintln(stdout, id)
	}
	return 0
}
