package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/ginkgo/command"
	ginkgorun "github.com/onsi/ginkgo/v2/ginkgo/run"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/podsem/podsem/framework/catalogue"
	"github.com/podsem/podsem/framework/profiles"
	"github.com/podsem/podsem/framework/report"
)

const (
	// preflightTimeout bounds the suite's own 20 s preflight, and cleanTimeout the
	// cleanup of earlier runs: a hang is a bug, never the user's wait.
	preflightTimeout = 30 * time.Second
	cleanTimeout     = 30 * time.Second
	// cleanOlderThan spares the namespaces of a run in progress elsewhere on the
	// cluster: it exceeds the default suite timeout.
	cleanOlderThan = "35m"
	defaultResults = "podsem-results"
	// doneFile is where the sonobuoy worker waits for the path of the results.
	doneFile       = "done"
	resultsArchive = "podsem-results.tar.gz"
	junitReport    = "junit.xml"
	jsonReport     = "report.json"
)

// reportNames are the reports a run writes in the results directory: ginkgo's
// two, then report.Render's two.
var reportNames = []string{junitReport, jsonReport, "report.md", "report.html"}

// runOptions are the flags of podsem run.
type runOptions struct {
	kubeconfig   string
	runtimeClass string
	image        string
	pullPolicy   string
	profile      string
	loaded       *profiles.Profile // profile, read once
	focus        string
	labelFilter  string   // focus, as a Ginkgo label filter
	partial      bool     // a --focus run may pass on what it selected
	claims       []string // Optional IDs that must pass
	parallel     int
	results      string
	timeout      time.Duration
	sonobuoy     bool
	imageGiven   bool // an image other than the kit's
}

// parseRunFlags parses and checks podsem run's flags; nothing here needs a cluster.
func parseRunFlags(args []string, stdout io.Writer) (*runOptions, bool, error) {
	o := &runOptions{}
	fs := newFlagSet("run")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG, then ~/.kube/config, then the pod's service account)")
	fs.StringVar(&o.runtimeClass, "runtime-class", "", "RuntimeClass every fixture pod runs under (default: the cluster's default runtime)")
	fs.StringVar(&o.image, "image", fixtureImage, "the podprobe fixture image, as the nodes know it")
	fs.StringVar(&o.pullPolicy, "pull-policy", "", "imagePullPolicy of fixture containers: Never, IfNotPresent or Always (default: Never for the kit's image, IfNotPresent with --image)")
	fs.StringVar(&o.profile, "profile", "", "known-divergence profile: "+strings.Join(profiles.Names(), ", ")+", or a YAML file; listed failures do not fail the run")
	fs.StringVar(&o.focus, "focus", "", "only these catalogue IDs, areas or levels, comma-separated (NET-01,ipc,Optional); podsem list shows them. The run is then partial: it fails unless --partial")
	fs.BoolVar(&o.partial, "partial", false, "accept a --focus run as partial: Required IDs outside the focus are counted, not failures")
	claims := fs.String("claim", "", "Optional catalogue IDs the runtime offers, comma-separated (PID-02,PID-03): their specs must pass, where they would be skipped")
	fs.IntVar(&o.parallel, "parallel", 4, "specs run at once")
	fs.StringVar(&o.results, "results", defaultResults, "directory for junit.xml, report.json, report.md and report.html")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "the whole suite's time limit")
	fs.BoolVar(&o.sonobuoy, "sonobuoy", false, "also archive the reports and write the archive's path to RESULTS/done, for the sonobuoy worker")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		return nil, help, err
	}
	// The kit's own image is imported on the nodes; any other is the user's, in a registry.
	o.imageGiven = flagGiven(fs, "image") && o.image != fixtureImage
	if o.pullPolicy == "" {
		o.pullPolicy = "Never"
		if o.imageGiven {
			o.pullPolicy = "IfNotPresent"
		}
	}
	switch o.pullPolicy {
	case "Never", "IfNotPresent", "Always":
	default:
		return nil, false, usagef("--pull-policy=%q: want Never, IfNotPresent or Always", o.pullPolicy)
	}
	if strings.TrimSpace(o.image) == "" {
		return nil, false, usagef("--image is empty")
	}
	if o.parallel < 1 || o.parallel > 64 {
		return nil, false, usagef("--parallel=%d: want 1 to 64", o.parallel)
	}
	if o.timeout <= 0 {
		return nil, false, usagef("--timeout=%s: want a positive duration", o.timeout)
	}
	if o.profile != "" {
		var err error
		if o.loaded, err = profiles.Load(o.profile); err != nil {
			return nil, false, usagef("--profile: %v", err)
		}
		if strings.Contains(o.profile, "/") || strings.HasSuffix(o.profile, ".yaml") {
			// ginkgo runs the suite from its own directory: a file needs its full path.
			if o.profile, err = filepath.Abs(o.profile); err != nil {
				return nil, false, usagef("--profile: %v", err)
			}
		}
	}
	filter, err := focusFilter(o.focus)
	if err != nil {
		return nil, false, err
	}
	for _, id := range strings.Split(*claims, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		if err := profiles.CheckClaim(id); err != nil {
			return nil, false, usagef("--claim: %v (podsem list shows the levels)", err)
		}
		o.claims = append(o.claims, id)
	}
	o.labelFilter = filter
	if o.results == "" {
		return nil, false, usagef("--results is empty")
	}
	if o.results, err = filepath.Abs(o.results); err != nil {
		return nil, false, usagef("--results: %v", err)
	}
	return o, false, nil
}

// focusFilter turns "NET-01,ipc" into the label filter "NET-01 || ipc": every
// spec carries its ID, area and level as labels.
func focusFilter(focus string) (string, error) {
	if strings.TrimSpace(focus) == "" {
		return "", nil
	}
	known := map[string]bool{}
	for _, e := range catalogue.Entries {
		for _, l := range e.Labels() {
			known[l] = true
		}
	}
	var terms []string
	for _, t := range strings.Split(focus, ",") {
		t = strings.TrimSpace(t)
		if !known[t] {
			return "", usagef("--focus: %q is not a catalogue ID, area or level (podsem list shows them)", t)
		}
		terms = append(terms, t)
	}
	return strings.Join(terms, " || "), nil
}

func runCmd(args []string, stdout, stderr io.Writer) (int, error) {
	o, help, err := parseRunFlags(args, stdout)
	if help || err != nil {
		return 0, err
	}
	suite, err := suiteBinary()
	if err != nil {
		return 0, err
	}
	kc, err := resolveKubeconfig(o.kubeconfig)
	if err != nil {
		return 0, err
	}
	defer kc.cleanup()
	if err := prepareResults(o.results); err != nil {
		return 0, err
	}

	suiteArgs := []string{
		"--kubeconfig=" + kc.path, "--provider=skeleton",
		"--podsem.image=" + o.image, "--podsem.pull-policy=" + o.pullPolicy,
		"--podsem.runtime-class=" + o.runtimeClass, "--podsem.image-help=" + imageHelp(o),
	}
	if o.profile != "" {
		suiteArgs = append(suiteArgs, "--podsem.profile="+o.profile)
	}
	if len(o.claims) > 0 {
		// A claimed spec fails where it would skip.
		suiteArgs = append(suiteArgs, "--podsem.claim="+strings.Join(o.claims, ","))
	}

	logf(stderr, "podsem %s (Kubernetes %s): cluster %s, RuntimeClass %s, image %s (pull %s)",
		version, kubernetesVersion, kc.describe, orDefault(o.runtimeClass), o.image, o.pullPolicy)
	start := time.Now()
	for _, step := range []struct {
		name  string
		limit time.Duration
		args  []string
	}{
		{"preflight", preflightTimeout, []string{"--podsem.preflight"}},
		{"clean", cleanTimeout, []string{"--podsem.clean", "--podsem.clean-older-than=" + cleanOlderThan}},
	} {
		code, last := runSuiteStep(stderr, suite, step.limit, step.name, append(suiteArgs, step.args...)...)
		if code == 0 {
			continue
		}
		if o.sonobuoy {
			// sonobuoy would otherwise wait out its timeout for results that never come.
			if err := writeStepFailure(o.results, step.name, last); err != nil {
				return code, err
			}
			if err := writeSonobuoyDone(o.results); err != nil {
				return code, err
			}
		}
		return code, nil
	}

	logf(stderr, "running the suite: %d at once, results in %s", o.parallel, o.results)
	ginkgoCode := runGinkgo(o, suite, suiteArgs)
	wall := time.Since(start).Round(time.Second)

	code, err := summarize(o, stdout, stderr, wall)
	if err != nil {
		// No usable report: the suite did not get far enough to write one.
		fmt.Fprintf(stderr, "[podsem] error: %v\n", err)
		if ginkgoCode == 0 {
			ginkgoCode = 1
		}
		code = ginkgoCode
	}
	if o.sonobuoy {
		if err := writeSonobuoyDone(o.results); err != nil {
			return 1, err
		}
	}
	return code, nil
}

// runGinkgo runs the precompiled suite through ginkgo's own run command, in
// process: the user needs no ginkgo CLI. It returns ginkgo's exit status.
func runGinkgo(o *runOptions, suite string, suiteArgs []string) int {
	args := []string{"ginkgo", "run",
		"--timeout=" + o.timeout.String(), "--poll-progress-after=60s", "--poll-progress-interval=30s",
		"--output-dir=" + o.results, "--junit-report=" + junitReport, "--json-report=" + jsonReport}
	if o.parallel > 1 {
		args = append(args, "-p", fmt.Sprintf("--procs=%d", o.parallel))
	}
	if o.labelFilter != "" {
		args = append(args, "--label-filter="+o.labelFilter)
	}
	if !isTerminal(os.Stdout) {
		args = append(args, "--no-color")
	}
	// The preflight step checked the image with a pod: the suite's own does not again.
	args = append(append(append(args, suite, "--"), suiteArgs...), "--podsem.preflight=false", "--podsem.image-checked")
	code := -1
	command.Program{
		Name:           "podsem",
		DefaultCommand: ginkgorun.BuildRunCommand(),
		Exiter:         func(c int) { code = c },
	}.RunAndExit(args)
	return code
}

// summarize prints one line per spec and the totals, writes report.md and
// report.html, and judges the run with the gate: 1 when a failure is not one
// the profile covers, a Required or claimed spec did not pass, or a --focus
// run was not accepted as partial.
func summarize(o *runOptions, stdout, stderr io.Writer, wall time.Duration) (int, error) {
	r, err := report.ReadRun(orDefault(o.runtimeClass), filepath.Join(o.results, jsonReport))
	if err != nil {
		return 0, fmt.Errorf("no report from the suite (%v)", err)
	}
	r.Profile = o.loaded
	opts := report.Options{Partial: o.partial, Claims: o.claims}

	var specs []*report.Spec
	for _, s := range r.Specs {
		specs = append(specs, s)
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].RunTime > specs[j].RunTime })
	var passed, failed, skipped int
	for _, s := range specs {
		fmt.Fprintf(stderr, "  %-8s %5.1fs  %s\n", s.State, s.RunTime.Seconds(), catalogue.Lookup(s.ID).Text())
		switch {
		case s.State == types.SpecStatePassed:
			passed++
		case s.State.Is(types.SpecStateFailureStates):
			failed++
		case s.State == types.SpecStateSkipped:
			skipped++
		}
	}

	if err := report.Render(o.results, []*report.Run{r}, opts, report.Meta{Kubernetes: kubernetesVersion}); err != nil {
		return 0, fmt.Errorf("writing report.md and report.html: %v", err)
	}
	logf(stderr, "suite done in %s; reports: %s", wall, strings.Join(reportFiles(o.results), " "))
	v := report.Gate([]*report.Run{r}, opts)
	for _, l := range v.Lines {
		fmt.Fprintln(stdout, l)
	}
	fmt.Fprintf(stdout, "podsem: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	fmt.Fprintln(stdout, v.Summary())
	if !v.OK() {
		return 1, nil
	}
	return 0, nil
}

func reportFiles(dir string) []string {
	var out []string
	for _, f := range reportNames {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			out = append(out, filepath.Join(dir, f))
		}
	}
	return out
}

// prepareResults makes the results directory and removes an earlier run's
// reports, so that nothing stale is judged or collected.
func prepareResults(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results directory: %v", err)
	}
	for _, f := range append([]string{doneFile, resultsArchive}, reportNames...) {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("results directory: %v", err)
		}
	}
	return nil
}

// imageHelp is what the preflight advises when the nodes lack the image: import
// the kit's archive where nothing is pulled, push it where the nodes pull.
func imageHelp(o *runOptions) string {
	importIt := "import the kit's images/podprobe.tar on every node (ctr -n k8s.io images import podprobe.tar)"
	if o.imageGiven {
		importIt += " and run without --image"
	}
	pushIt := "push it to a registry the nodes reach (podsem image push REGISTRY/podsem/podprobe:TAG) and run with --image REGISTRY/podsem/podprobe:TAG"
	if o.imageGiven {
		pushIt = fmt.Sprintf("push the kit's fixture image there (podsem image push %s)", o.image)
	}
	if o.pullPolicy == "Never" {
		return importIt + ", or " + pushIt
	}
	return pushIt + " and check that the nodes may pull from that registry, or " + importIt
}

func orDefault(rc string) string {
	if rc == "" {
		return "(default)"
	}
	return rc
}

func logf(w io.Writer, f string, a ...any) {
	fmt.Fprintf(w, "[podsem] "+f+"\n", a...)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
