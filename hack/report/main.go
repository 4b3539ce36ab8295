// Command report turns the suite's Ginkgo JSON reports into what CI gates on and
// runtime vendors share.
//
//	report gate      --report [NAME=]report.json ... [--profile [NAME=]P ...] [--claim IDS] [--partial]
//	report render    --run NAME=report.json ... [--profile [NAME=]P ...] [--claim IDS] [--partial] --out DIR
//	report stability --report [NAME=]report.json ... [--profile P] [--claim IDS] [--partial] --out DIR
//	report failed    --report report.json
//	report bench     --runs RUNS.tsv [--e2e-wall S --e2e-status N] [--pace-workload W --pace-before S --pace-after S] --out DIR
//
// gate prints one line per failure and exits 0 only when every failure is a
// known divergence its run's profile covers, every Required spec ran and
// passed, every claimed ID passed, and no run was filtered unless --partial
// says it may be. render writes DIR/report.md and DIR/report.html, the matrix
// of catalogue IDs by run. stability judges repeats of one run: DIR/stability.json,
// and report.md and report.html with a stability table; it exits 0 only when
// every repeat's gate passed and no ID had more than one outcome. failed prints
// the IDs of the failed specs, for make e2e-rerun. bench sums up make bench's
// timed runs (DIR/bench.md, DIR/bench.json) and exits non-zero only when a
// run was broken, never on a time. The logic is in
// framework/report, so that a launcher can gate and render in-process.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

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
	case "stability":
		code = stabilityCmd(args, os.Stdout, os.Stderr)
	case "failed":
		code = failedCmd(args, os.Stdout, os.Stderr)
	case "bench":
		code = benchCmd(args, os.Stdout, os.Stderr)
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
  report gate      --report [NAME=]report.json ... [--profile [NAME=]P ...] [--claim IDS] [--partial]
                   exit 0 when every failure is a known divergence its run's profile covers, every
                   Required spec ran and passed, and every claimed ID passed
  report render    --run NAME=report.json ... [--profile [NAME=]P ...] [--claim IDS] [--partial] --out DIR
                   writes DIR/report.md and DIR/report.html, each run judged by its own profile
  report stability --report [NAME=]report.json ... [--profile P] [--claim IDS] [--partial] --out DIR
                   repeats of one run: DIR/stability.json, report.md and report.html; exit 0 when
                   every repeat's gate passed and no ID is flaky
  report failed    --report report.json
                   the IDs of the failed specs
  report bench     --runs RUNS.tsv [--e2e-wall S --e2e-status N] [--pace-workload W --pace-before S --pace-after S] --out DIR
                   make bench's timed runs (a line each: name, wall seconds, exit status, report,
                   optionally the machine's CPU seconds, tab-separated) and the machine's pace:
                   DIR/bench.md and DIR/bench.json; exit 1 only when a run was broken

  --profile NAME=P attaches profile P (`+strings.Join(profiles.Names(), ", ")+`, or a YAML file) to the run
  NAME only; a bare --profile P needs a single run (stability: every repeat). --claim takes Optional
  catalogue IDs, comma-separated, that must pass in every run. --partial accepts filtered runs
  (FOCUS, LABELS): Required IDs outside the filter are counted, not failures.
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

// listFlag collects repeated values.
type listFlag []string

func (f *listFlag) String() string { return strings.Join(*f, " ") }

func (f *listFlag) Set(v string) error {
	*f = append(*f, v)
	return nil
}

// judging are the flags that say how runs are judged, common to gate, render
// and stability.
type judging struct {
	profiles listFlag
	claims   listFlag
	partial  bool
}

func (j *judging) register(fs *flag.FlagSet) {
	fs.Var(&j.profiles, "profile", "known-divergence profile, NAME=P for run NAME or P for the only run: "+strings.Join(profiles.Names(), ", ")+", or a YAML file; repeatable")
	fs.Var(&j.claims, "claim", "Optional catalogue IDs, comma-separated, that must pass in every run; repeatable")
	fs.BoolVar(&j.partial, "partial", false, "accept filtered runs: Required IDs outside the filter are counted, not failures")
}

// load reads the runs and attaches their profiles. everyRun lets a bare
// --profile judge every run (repeats of one run); otherwise it needs a single run.
func (j *judging) load(names runFlags, everyRun bool) ([]*report.Run, report.Options, error) {
	o := report.Options{Partial: j.partial}
	for _, list := range j.claims {
		for _, id := range strings.Split(list, ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			if err := profiles.CheckClaim(id); err != nil {
				return nil, o, fmt.Errorf("--claim: %v", err)
			}
			if !slices.Contains(o.Claims, id) {
				o.Claims = append(o.Claims, id)
			}
		}
	}
	byRun := map[string]*profiles.Profile{}
	var all *profiles.Profile
	for _, v := range j.profiles {
		name, value, named := strings.Cut(v, "=")
		if named && !slices.ContainsFunc(names, func(n report.NamedPath) bool { return n.Name == name }) {
			return nil, o, fmt.Errorf("--profile %s: no run is named %s (the runs: %s)", v, name, runNames(names))
		}
		if !named {
			value = v
			if len(names) > 1 && !everyRun {
				return nil, o, fmt.Errorf("--profile %s with %d runs: a profile judges one runtime's run, say which with --profile NAME=%s", v, len(names), v)
			}
		}
		p, err := profiles.Load(value)
		if err != nil {
			return nil, o, fmt.Errorf("--profile: %v", err)
		}
		switch {
		case !named && all != nil, named && byRun[name] != nil:
			return nil, o, fmt.Errorf("--profile %s: that run has a profile already", v)
		case named:
			byRun[name] = p
		default:
			all = p
		}
	}
	runs := report.LoadRuns(names)
	for _, r := range runs {
		r.Profile = all
		if p := byRun[r.Name]; p != nil {
			r.Profile = p
		}
	}
	return runs, o, nil
}

func runNames(names runFlags) string {
	var s []string
	for _, n := range names {
		s = append(s, n.Name)
	}
	return strings.Join(s, ", ")
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
	var names runFlags
	fs.Var(&names, "report", "a Ginkgo JSON report, [NAME=]path; repeatable")
	var j judging
	j.register(fs)
	if !parse(fs, args, stderr) {
		return 2
	}
	if len(names) == 0 {
		fmt.Fprintln(stderr, "[podsem] error: report gate: no --report given")
		return 2
	}
	runs, o, err := j.load(names, false)
	if err != nil {
		fmt.Fprintf(stderr, "[podsem] error: report gate: %v\n", err)
		return 2
	}
	v := report.Gate(runs, o)
	for _, l := range v.Lines {
		fmt.Fprintln(stdout, l)
	}
	fmt.Fprintln(stdout, v.Summary())
	if !v.OK() {
		return 1
	}
	return 0
}

func renderCmd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	var names runFlags
	fs.Var(&names, "run", "NAME=path/report.json, one column of the matrix; repeatable")
	var j judging
	j.register(fs)
	out := fs.String("out", "", "directory for report.md and report.html")
	var m report.Meta
	registerMeta(fs, &m)
	if !parse(fs, args, stderr) {
		return 2
	}
	if len(names) == 0 || *out == "" {
		fmt.Fprintln(stderr, "[podsem] error: report render: want at least one --run NAME=report.json and --out DIR")
		return 2
	}
	runs, o, err := j.load(names, false)
	if err != nil {
		fmt.Fprintf(stderr, "[podsem] error: report render: %v\n", err)
		return 2
	}
	if err := report.Render(*out, runs, o, m); err != nil {
		fmt.Fprintf(stderr, "[podsem] error: report render: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "[podsem] report: %s/report.md %s/report.html\n", *out, *out)
	return 0
}

func stabilityCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stability", flag.ContinueOnError)
	var names runFlags
	fs.Var(&names, "report", "a Ginkgo JSON report of one repeat, [NAME=]path, in the order they ran; repeatable")
	var j judging
	j.register(fs)
	out := fs.String("out", "", "directory for stability.json, report.md and report.html")
	var m report.Meta
	registerMeta(fs, &m)
	if !parse(fs, args, stderr) {
		return 2
	}
	if len(names) == 0 || *out == "" {
		fmt.Fprintln(stderr, "[podsem] error: report stability: want at least one --report and --out DIR")
		return 2
	}
	runs, o, err := j.load(names, true)
	if err != nil {
		fmt.Fprintf(stderr, "[podsem] error: report stability: %v\n", err)
		return 2
	}
	st, err := report.WriteStability(*out, runs, o, m)
	if err != nil {
		fmt.Fprintf(stderr, "[podsem] error: report stability: %v\n", err)
		return 1
	}
	for _, r := range st.Runs {
		fmt.Fprintf(stdout, "%-6s %s\n", r.Name, r.Gate)
	}
	fmt.Fprintf(stderr, "[podsem] report: %s/stability.json %s/report.md %s/report.html\n", *out, *out, *out)
	fmt.Fprintln(stdout, st.Summary())
	if !st.OK() {
		return 1
	}
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

func benchCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	runsFile := fs.String("runs", "", "the timed runs: a line each, name, wall seconds, exit status, report path, tab-separated")
	e2eWall := fs.Float64("e2e-wall", -1, "seconds the warm make e2e took (absent: not run)")
	e2eStatus := fs.Int("e2e-status", 0, "the warm make e2e's exit status")
	out := fs.String("out", "", "directory for bench.md and bench.json")
	paceWork := fs.String("pace-workload", "", "the fixed one-core workload --pace-before and --pace-after timed")
	paceBefore := fs.Float64("pace-before", 0, "seconds the workload took before the runs")
	paceAfter := fs.Float64("pace-after", 0, "seconds the workload took after them")
	if !parse(fs, args, stderr) {
		return 2
	}
	if *runsFile == "" || *out == "" {
		fmt.Fprintln(stderr, "[podsem] error: report bench: want --runs FILE and --out DIR")
		return 2
	}
	runs, err := report.ReadBenchRuns(*runsFile)
	if err != nil {
		fmt.Fprintf(stderr, "[podsem] error: report bench: %v\n", err)
		return 2
	}
	var e2e *report.BenchE2E
	if *e2eWall >= 0 {
		e2e = &report.BenchE2E{Wall: *e2eWall, Status: *e2eStatus}
	}
	b := report.BuildBench(runs, e2e, time.Now())
	if *paceWork != "" {
		if *paceBefore <= 0 || *paceAfter <= 0 {
			fmt.Fprintln(stderr, "[podsem] error: report bench: --pace-workload wants --pace-before and --pace-after, in seconds above 0")
			return 2
		}
		b.Pace = &report.Pace{Workload: *paceWork, Before: *paceBefore, After: *paceAfter}
	}
	if err := report.WriteBench(*out, b); err != nil {
		fmt.Fprintf(stderr, "[podsem] error: report bench: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "bench: suite wall median %.1fs (min %.1fs, max %.1fs, %d runs), spec time %.1fs", b.Wall.Median, b.Wall.Min, b.Wall.Max, b.Wall.N, b.SpecTime)
	if b.CPU != nil {
		fmt.Fprintf(stdout, ", machine CPU %.1fs a run", b.CPU.Median)
	}
	if b.Pace != nil {
		fmt.Fprintf(stdout, " (pace %.2fs, then %.2fs)", b.Pace.Before, b.Pace.After)
	}
	if e2e != nil {
		fmt.Fprintf(stdout, "; make e2e %.0fs", e2e.Wall)
	}
	fmt.Fprintln(stdout)
	for _, p := range b.Problems {
		fmt.Fprintln(stderr, "[podsem] bench: "+p)
	}
	fmt.Fprintf(stderr, "[podsem] bench: %s/bench.md %s/bench.json\n", *out, *out)
	if !b.OK() {
		return 1
	}
	return 0
}

// registerMeta adds the flags for what the reports cannot say themselves.
func registerMeta(fs *flag.FlagSet, m *report.Meta) {
	fs.StringVar(&m.Kubernetes, "kubernetes-version", "", "the Kubernetes version go.mod pins, shown when no run's preflight names the cluster's")
	fs.StringVar(&m.Kind, "kind-version", "", "the kind version, when the cluster is the kind one")
}
