package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/podsem/podsem/framework/timing"
)

// BenchRun is one timed suite run of make bench: its name, its wall time as
// the runner measured it (ginkgo started to ginkgo done), its exit status
// (the gate's) and its Ginkgo JSON report.
type BenchRun struct {
	Name   string  `json:"name"`
	Wall   float64 `json:"wall"`
	Status int     `json:"status"`
	Report string  `json:"report"`
	// CPU is the CPU time the whole machine spent during the run (every
	// core's busy time: the cluster, the runtime, the suite), 0 when not
	// measured. On a CPU-bound machine it is the run's cost, steadier than
	// its wall.
	CPU float64 `json:"cpu,omitempty"`
	// Broken says why the run cannot stand for the suite's time (it failed,
	// or left no report); "" when it can.
	Broken string `json:"broken,omitempty"`
	// SpecTime is the sum of every spec's run time; Specs how many ran.
	SpecTime float64 `json:"spec_time"`
	Specs    int     `json:"specs"`
	// Processes is each ginkgo process's busy time (the sum of its specs'),
	// and SpecSpan the time from the first spec's start to the last one's end.
	Processes map[int]float64 `json:"processes"`
	SpecSpan  float64         `json:"spec_span"`
	// Ginkgo is the suite's run time as its report says (no preflight, no
	// compile check): what the processes took, from start to end.
	Ginkgo float64 `json:"ginkgo"`

	specs map[string]benchSpec
}

type benchSpec struct {
	state  types.SpecState
	total  float64 // Ginkgo's run time
	timing *timing.Spec
}

// BenchE2E is the one warm make e2e, timed end to end.
type BenchE2E struct {
	Wall   float64 `json:"wall"`
	Status int     `json:"status"`
}

// Bench is what make bench found: bench.json.
type Bench struct {
	Date    string     `json:"date"`
	Cluster string     `json:"cluster,omitempty"`
	Runs    []BenchRun `json:"runs"`
	// Wall is over the runs that are not broken (all runs, when every one is).
	Wall Spread    `json:"wall"`
	CPU  *Spread   `json:"cpu,omitempty"` // over the counted runs that measured it
	E2E  *BenchE2E `json:"e2e,omitempty"`
	// Pace is the machine's speed when the runs began and when they ended:
	// seconds a fixed one-core workload took (lower is faster). This machine's
	// speed varies by a fifth within an hour; figures compare at a like pace.
	Pace   *Pace   `json:"pace,omitempty"`
	Phases []Phase `json:"phases"`
	// SpecTime is the median over the runs of the sum of the specs' times.
	SpecTime float64     `json:"spec_time"`
	Slowest  []SlowSpec  `json:"slowest"`
	Problems []string    `json:"problems,omitempty"`
	counted  []*BenchRun // the runs the figures come from
}

// Pace is the seconds make bench's fixed workload took before and after the runs.
type Pace struct {
	Workload string  `json:"workload"`
	Before   float64 `json:"before"`
	After    float64 `json:"after"`
}

// Spread is a median, min and max in seconds, over N values.
type Spread struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// Phase is one timing phase summed over every spec of a run (median of runs).
type Phase struct {
	Phase   timing.Phase `json:"phase"`
	Seconds float64      `json:"seconds"`
	Count   float64      `json:"count"`
}

// SlowSpec is one of the slowest specs: its median time, median phases,
// and the longest spans of the run whose time is nearest its median.
type SlowSpec struct {
	ID      string                   `json:"id"`
	Total   Spread                   `json:"total"`
	Seconds map[timing.Phase]float64 `json:"seconds"`
	Count   map[timing.Phase]int     `json:"count"`
	Spans   []timing.Span            `json:"spans"`
	States  map[string]int           `json:"states"`
}

// ReadBenchRuns reads make bench's runs file: one run a line, tab-separated
// name, wall seconds, exit status and report path, and optionally the
// machine's CPU seconds during the run.
func ReadBenchRuns(path string) ([]BenchRun, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var runs []BenchRun
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 4 && len(fields) != 5 {
			return nil, fmt.Errorf("%s:%d: want name, wall, status, report and optionally CPU seconds, tab-separated: %q", path, n, line)
		}
		wall, err1 := strconv.ParseFloat(fields[1], 64)
		status, err2 := strconv.Atoi(fields[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: wall %q and status %q must be numbers", path, n, fields[1], fields[2])
		}
		run := BenchRun{Name: fields[0], Wall: wall, Status: status, Report: fields[3]}
		if len(fields) == 5 {
			cpu, err := strconv.ParseFloat(fields[4], 64)
			if err != nil || cpu < 0 {
				return nil, fmt.Errorf("%s:%d: CPU seconds %q must be a number, 0 or more", path, n, fields[4])
			}
			run.CPU = cpu
		}
		runs = append(runs, run)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("%s: no runs", path)
	}
	return runs, nil
}

// BuildBench reads every run's report and sums them up. A run that failed
// or left no report is kept, marked broken, out of the figures unless every
// run is broken.
func BuildBench(runs []BenchRun, e2e *BenchE2E, now time.Time) *Bench {
	b := &Bench{Date: now.UTC().Format(time.RFC3339), Runs: runs, E2E: e2e}
	for i := range b.Runs {
		r := &b.Runs[i]
		cluster, err := readBenchReport(r)
		switch {
		case err != nil:
			r.Broken = "no usable report: " + err.Error()
		case r.Status != 0:
			r.Broken = fmt.Sprintf("exit status %d: %s", r.Status, failedSpecs(r))
		}
		if r.Broken != "" {
			b.Problems = append(b.Problems, fmt.Sprintf("run %s is broken: %s", r.Name, r.Broken))
		}
		if b.Cluster == "" {
			b.Cluster = cluster
		}
	}
	for i := range b.Runs {
		if b.Runs[i].Broken == "" {
			b.counted = append(b.counted, &b.Runs[i])
		}
	}
	if len(b.counted) == 0 {
		for i := range b.Runs {
			if b.Runs[i].specs != nil {
				b.counted = append(b.counted, &b.Runs[i])
			}
		}
	}
	if e2e != nil && e2e.Status != 0 {
		b.Problems = append(b.Problems, fmt.Sprintf("the warm make e2e is broken: exit status %d", e2e.Status))
	}
	var walls, specTimes, cpus []float64
	for _, r := range b.counted {
		walls = append(walls, r.Wall)
		specTimes = append(specTimes, r.SpecTime)
		if r.CPU > 0 {
			cpus = append(cpus, r.CPU)
		}
	}
	b.Wall = spread(walls)
	if len(cpus) > 0 {
		c := spread(cpus)
		b.CPU = &c
	}
	b.SpecTime = spread(specTimes).Median

	// Phases summed over the specs of each run, then the median of the runs.
	for _, p := range timing.Phases {
		var secs, counts []float64
		for _, r := range b.counted {
			s, c := 0.0, 0
			for _, sp := range r.specs {
				if sp.timing != nil {
					s += sp.timing.Seconds[p]
					c += sp.timing.Count[p]
				}
			}
			secs, counts = append(secs, s), append(counts, float64(c))
		}
		b.Phases = append(b.Phases, Phase{Phase: p, Seconds: round3(spread(secs).Median), Count: spread(counts).Median})
	}

	// Every spec's median time; the ten slowest, with their phases.
	ids := map[string]bool{}
	for _, r := range b.counted {
		for id := range r.specs {
			ids[id] = true
		}
	}
	var all []SlowSpec
	for id := range ids {
		all = append(all, slowSpec(id, b.counted))
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Total.Median != all[j].Total.Median {
			return all[i].Total.Median > all[j].Total.Median
		}
		return all[i].ID < all[j].ID
	})
	if len(all) > 10 {
		all = all[:10]
	}
	b.Slowest = all
	return b
}

// OK says whether every run, and the make e2e, could be measured.
func (b *Bench) OK() bool { return len(b.Problems) == 0 }

func slowSpec(id string, runs []*BenchRun) SlowSpec {
	s := SlowSpec{ID: id, Seconds: map[timing.Phase]float64{}, Count: map[timing.Phase]int{}, States: map[string]int{}}
	var totals []float64
	for _, r := range runs {
		if sp, ok := r.specs[id]; ok {
			totals = append(totals, sp.total)
			s.States[sp.state.String()]++
		}
	}
	s.Total = spread(totals)
	for _, p := range timing.Phases {
		var v []float64
		for _, r := range runs {
			if sp, ok := r.specs[id]; ok && sp.timing != nil {
				v = append(v, sp.timing.Seconds[p])
			}
		}
		s.Seconds[p] = round3(spread(v).Median)
	}
	// The spans of the run nearest the median: one real account, not a blend.
	var nearest *timing.Spec
	best := -1.0
	for _, r := range runs {
		if sp, ok := r.specs[id]; ok && sp.timing != nil {
			if d := abs(sp.total - s.Total.Median); best < 0 || d < best {
				best, nearest = d, sp.timing
			}
		}
	}
	if nearest != nil {
		s.Count = nearest.Count
		s.Spans = nearest.Slowest(5, timing.PodStart, timing.Exec, timing.Wait)
	}
	return s
}

// readBenchReport fills r from its report; it returns the preflight summary.
func readBenchReport(r *BenchRun) (string, error) {
	raw, err := os.ReadFile(r.Report)
	if err != nil {
		return "", err
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		return "", fmt.Errorf("decoding %s: %w", r.Report, err)
	}
	r.specs = map[string]benchSpec{}
	r.Processes = map[int]float64{}
	var cluster string
	var first, last time.Time
	for _, rep := range reports {
		r.Ginkgo += round3(rep.RunTime.Seconds())
		for _, sr := range rep.SpecReports {
			for _, e := range sr.ReportEntries {
				if e.Name == "preflight" {
					cluster = e.Value.Representation
				}
			}
			id, ok := idOf(sr.LeafNodeText)
			if sr.LeafNodeType != types.NodeTypeIt || !ok {
				continue
			}
			sp := benchSpec{state: sr.State, total: round3(sr.RunTime.Seconds())}
			for _, e := range sr.ReportEntries {
				if e.Name != timing.EntryName || e.Value.AsJSON == "" {
					continue
				}
				var t timing.Spec
				if err := json.Unmarshal([]byte(e.Value.AsJSON), &t); err == nil {
					sp.timing = &t
				}
			}
			r.specs[id] = sp
			if sr.State == types.SpecStateSkipped && sr.RunTime == 0 {
				continue
			}
			r.Specs++
			r.SpecTime += sp.total
			r.Processes[sr.ParallelProcess] = round3(r.Processes[sr.ParallelProcess] + sp.total)
			if first.IsZero() || sr.StartTime.Before(first) {
				first = sr.StartTime
			}
			if sr.EndTime.After(last) {
				last = sr.EndTime
			}
		}
	}
	if len(r.specs) == 0 {
		return cluster, fmt.Errorf("%s holds no catalogue spec", r.Report)
	}
	r.SpecTime = round3(r.SpecTime)
	r.SpecSpan = round3(last.Sub(first).Seconds())
	return cluster, nil
}

func failedSpecs(r *BenchRun) string {
	var ids []string
	for id, s := range r.specs {
		if s.state.Is(types.SpecStateFailureStates) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "the gate failed (see the run's output)"
	}
	slices.Sort(ids)
	return "failed " + strings.Join(ids, ", ")
}

// WriteBench writes dir/bench.json and dir/bench.md.
func WriteBench(dir string, b *Bench) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), append(raw, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "bench.md"), []byte(b.Markdown()), 0o644)
}

// Markdown is bench.md.
func (b *Bench) Markdown() string {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	p("# podsem benchmark\n\n%s", b.Date)
	if b.Cluster != "" {
		p("; %s", b.Cluster)
	}
	p("\n\nA benchmark, not a test: these are measurements on this machine as it was, shared or not.\n\n")
	for _, pr := range b.Problems {
		p("- **%s**\n", pr)
	}
	if len(b.Problems) > 0 {
		p("\n")
	}
	p("## The suite, %d run(s)\n\n", len(b.Runs))
	p("Wall (hack/e2e.sh: preflight, the parallel suite, the gate): median **%.1f s**, min %.1f s, max %.1f s, over %d run(s). Spec time (the sum of the specs' times): median %.1f s.\n\n",
		b.Wall.Median, b.Wall.Min, b.Wall.Max, b.Wall.N, b.SpecTime)
	if b.CPU != nil {
		p("The machine's CPU time during a run (every core busy: the cluster, the runtime, the suite): median **%.1f s**, min %.1f s, max %.1f s, over %d run(s).\n\n", b.CPU.Median, b.CPU.Min, b.CPU.Max, b.CPU.N)
	}
	if b.Pace != nil {
		p("The machine's pace: %s took %.2f s before the runs and %.2f s after them (lower is faster; compare figures taken at a like pace).\n\n", b.Pace.Workload, b.Pace.Before, b.Pace.After)
	}
	p("| run | wall | CPU | ginkgo | status | specs | spec time | first spec to last end | per process (busy) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range b.Runs {
		status := "ok"
		if r.Broken != "" {
			status = "broken: " + r.Broken
		}
		var procs []string
		for _, n := range slices.Sorted(maps.Keys(r.Processes)) {
			procs = append(procs, fmt.Sprintf("%d: %.0fs", n, r.Processes[n]))
		}
		cpu := "–"
		if r.CPU > 0 {
			cpu = fmt.Sprintf("%.1f s", r.CPU)
		}
		p("| %s | %.1f s | %s | %.1f s | %s | %d | %.1f s | %.1f s | %s |\n", r.Name, r.Wall, cpu, r.Ginkgo, status, r.Specs, r.SpecTime, r.SpecSpan, strings.Join(procs, ", "))
	}
	p("\n## make e2e, warm\n\n")
	if b.E2E == nil {
		p("Not run (BENCH_E2E=0).\n")
	} else {
		p("%.0f s end to end, exit status %d (the suite, the kit's build check, its checks and the in-cluster run).\n", b.E2E.Wall, b.E2E.Status)
	}
	p("\n## Where the spec time goes\n\nSummed over every spec, median of the runs. Setup is before the body (clients, the namespace, BeforeAll outside pod starts), other is the body outside spans, teardown is after it.\n\n")
	p("| phase | seconds | share | spans |\n|---|---|---|---|\n")
	total := 0.0
	for _, ph := range b.Phases {
		total += ph.Seconds
	}
	for _, ph := range b.Phases {
		share := 0.0
		if total > 0 {
			share = 100 * ph.Seconds / total
		}
		p("| %s | %.1f | %.0f%% | %.0f |\n", ph.Phase, ph.Seconds, share, ph.Count)
	}
	p("\n## The ten slowest specs\n\nMedian seconds per phase; the longest spans are from the run nearest the spec's median (pod starts with their milestones: scheduled, sandbox, running, ready, seconds from the span's start).\n\n")
	p("| ID | total (min–max) |")
	for _, ph := range timing.Phases {
		p(" %s |", ph)
	}
	p(" longest spans |\n|---|---|")
	for range timing.Phases {
		p("---|")
	}
	p("---|\n")
	for _, s := range b.Slowest {
		p("| %s | %.1f (%.1f–%.1f) |", s.ID, s.Total.Median, s.Total.Min, s.Total.Max)
		for _, ph := range timing.Phases {
			n := ""
			if c := s.Count[ph]; c > 0 {
				n = fmt.Sprintf(" ×%d", c)
			}
			p(" %.1f%s |", s.Seconds[ph], n)
		}
		var spans []string
		for _, sp := range s.Spans {
			spans = append(spans, describeSpan(sp))
		}
		p(" %s |\n", strings.Join(spans, "; "))
	}
	return w.String()
}

func describeSpan(sp timing.Span) string {
	d := fmt.Sprintf("%s %.1fs %s", sp.Phase, sp.Seconds, strings.ReplaceAll(sp.What, "|", "/"))
	if len(sp.Marks) > 0 {
		names := slices.Sorted(maps.Keys(sp.Marks))
		sort.SliceStable(names, func(i, j int) bool { return sp.Marks[names[i]] < sp.Marks[names[j]] })
		var m []string
		for _, n := range names {
			m = append(m, fmt.Sprintf("%s %.1f", n, sp.Marks[n]))
		}
		d += " (" + strings.Join(m, ", ") + ")"
	}
	return d
}

func spread(v []float64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{N: len(s), Median: round3(m), Min: round3(s[0]), Max: round3(s[len(s)-1])}
}

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
