package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/podsem/podsem/framework/timing"
)

// benchReport writes a Ginkgo JSON report of two specs, NET-01 taking
// net01 seconds (a pod start of most of it) and SBX-05 sbx05, with state
// sbxState.
func benchReport(t *testing.T, dir, name string, net01, sbx05 float64, sbxState types.SpecState) string {
	t.Helper()
	start := time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)
	spec := func(text string, secs float64, state types.SpecState, proc int) types.SpecReport {
		tm := timing.Spec{Total: secs, Seconds: map[timing.Phase]float64{timing.Setup: 0.2, timing.PodStart: secs - 0.5, timing.Exec: 0.3},
			Count: map[timing.Phase]int{timing.PodStart: 1, timing.Exec: 1},
			Spans: []timing.Span{{Phase: timing.PodStart, What: "start pair", At: 0.2, Seconds: secs - 0.5, Marks: map[string]float64{"pair ready": secs - 0.6}}}}
		d := time.Duration(secs * float64(time.Second))
		return types.SpecReport{
			LeafNodeType: types.NodeTypeIt, LeafNodeText: text, State: state, RunTime: d,
			StartTime: start, EndTime: start.Add(d), ParallelProcess: proc,
			ReportEntries: types.ReportEntries{{Name: timing.EntryName, Value: types.WrapEntryValue(tm)}},
		}
	}
	rep := []types.Report{{RunTime: 30 * time.Second, SuiteSucceeded: sbxState == types.SpecStatePassed, SpecReports: types.SpecReports{
		spec("[NET-01] a TCP server", net01, types.SpecStatePassed, 1),
		spec("[SBX-05] the sandbox dies", sbx05, sbxState, 2),
	}}}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBenchMediansAndSlowest(t *testing.T) {
	dir := t.TempDir()
	var runs []BenchRun
	for i, w := range []float64{40, 30, 50} {
		name := fmt.Sprintf("%02d", i+1)
		runs = append(runs, BenchRun{Name: name, Wall: w, Report: benchReport(t, dir, name, 2+float64(i), 10+float64(i), types.SpecStatePassed)})
	}
	b := BuildBench(runs, &BenchE2E{Wall: 200}, time.Now())
	if !b.OK() {
		t.Fatalf("problems: %v", b.Problems)
	}
	if b.Wall != (Spread{N: 3, Median: 40, Min: 30, Max: 50}) {
		t.Errorf("wall %+v", b.Wall)
	}
	if len(b.Slowest) != 2 || b.Slowest[0].ID != "SBX-05" || b.Slowest[0].Total.Median != 11 {
		t.Fatalf("slowest %+v", b.Slowest)
	}
	if got := b.Slowest[0].Seconds[timing.PodStart]; got != 10.5 {
		t.Errorf("SBX-05's median pod start %.3f, want 10.5", got)
	}
	if b.SpecTime != 14 {
		t.Errorf("spec time %.3f, want 14 (3 + 11)", b.SpecTime)
	}
	md := b.Markdown()
	for _, want := range []string{"median **40.0 s**", "| SBX-05 | 11.0 (10.0–12.0) |", "pair ready", "200 s end to end"} {
		if !strings.Contains(md, want) {
			t.Errorf("bench.md lacks %q:\n%s", want, md)
		}
	}
}

// A failed run, or one without a report, is broken: reported, out of the
// figures, and the bench fails on it, never on a time.
func TestBenchBrokenRuns(t *testing.T) {
	dir := t.TempDir()
	runs := []BenchRun{
		{Name: "01", Wall: 40, Report: benchReport(t, dir, "01", 2, 10, types.SpecStatePassed)},
		{Name: "02", Wall: 90, Status: 1, Report: benchReport(t, dir, "02", 2, 60, types.SpecStateFailed)},
		{Name: "03", Wall: 5, Status: 1, Report: filepath.Join(dir, "missing.json")},
	}
	b := BuildBench(runs, nil, time.Now())
	if b.OK() || len(b.Problems) != 2 {
		t.Fatalf("problems %v, want runs 02 and 03 broken", b.Problems)
	}
	if !strings.Contains(b.Problems[0], "failed SBX-05") || !strings.Contains(b.Problems[1], "no usable report") {
		t.Errorf("problems %v", b.Problems)
	}
	if b.Wall != (Spread{N: 1, Median: 40, Min: 40, Max: 40}) {
		t.Errorf("wall %+v, want run 01's only", b.Wall)
	}
	if md := b.Markdown(); !strings.Contains(md, "Not run (BENCH_E2E=0)") || !strings.Contains(md, "broken: exit status 1") {
		t.Errorf("bench.md:\n%s", md)
	}
}

func TestReadBenchRunsRejectsBadLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.tsv")
	if err := os.WriteFile(path, []byte("01\tfast\t0\tr.json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBenchRuns(path); err == nil || !strings.Contains(err.Error(), "must be numbers") {
		t.Errorf("err %v", err)
	}
}

// The machine's CPU seconds per run are a fifth column, optional; their
// median covers the counted runs that measured them.
func TestBenchCPUColumn(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "runs.tsv")
	lines := fmt.Sprintf("01\t40\t0\t%s\t70.5\n02\t30\t0\t%s\t60\n03\t50\t0\t%s\n",
		benchReport(t, dir, "01", 2, 10, types.SpecStatePassed),
		benchReport(t, dir, "02", 2, 10, types.SpecStatePassed),
		benchReport(t, dir, "03", 2, 10, types.SpecStatePassed))
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	runs, err := ReadBenchRuns(path)
	if err != nil {
		t.Fatal(err)
	}
	b := BuildBench(runs, nil, time.Now())
	if b.CPU == nil || *b.CPU != (Spread{N: 2, Median: 65.25, Min: 60, Max: 70.5}) {
		t.Errorf("CPU %+v, want runs 01 and 02's", b.CPU)
	}
	b.Pace = &Pace{Workload: "sha256sum of 512 MiB", Before: 1.5, After: 1.75}
	md := b.Markdown()
	for _, want := range []string{"CPU time during a run", "median **65.2 s**", "| 01 | 40.0 s | 70.5 s |", "| 03 | 50.0 s | – |", "took 1.50 s before the runs and 1.75 s after"} {
		if !strings.Contains(md, want) {
			t.Errorf("bench.md lacks %q:\n%s", want, md)
		}
	}
	if err := os.WriteFile(path, []byte("01\t40\t0\tr.json\tlots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBenchRuns(path); err == nil || !strings.Contains(err.Error(), "CPU seconds") {
		t.Errorf("a CPU column that is no number: err %v", err)
	}
}
