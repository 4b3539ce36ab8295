package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtures are framework/report's: one set of Ginkgo reports for the library
// and its command line.
const fixtures = "../../framework/report/testdata/"

func TestGateExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		// partial.json ran the network specs only.
		{[]string{"--report", fixtures + "partial.json", "--partial"}, 0},
		{[]string{"--report", fixtures + "partial.json"}, 1},
		{[]string{"--report", fixtures + "partial.json", "--partial", "--claim", "PID-02"}, 0},
		{[]string{"--report", fixtures + "partial.json", "--partial", "--claim", "NET-01"}, 2},
		{[]string{"--report", fixtures + "partial.json", "--partial", "--claim", "NOPE-01"}, 2},
		// Unfiltered, so every catalogue ID it lacks is Required and not run.
		{[]string{"--report", fixtures + "green.json"}, 1},
		{[]string{"--report", fixtures + "sandboxed.json"}, 1},
		{[]string{"--report", fixtures + "sandboxed.json", "--profile", fixtures + "testing.yaml"}, 1},
		{[]string{"--report", fixtures + "partial.json", "--profile", "nosuch"}, 2},
		{[]string{"--report", "a=" + fixtures + "partial.json", "--profile", "a=" + fixtures + "testing.yaml", "--partial"}, 0},
		{[]string{"--report", "a=" + fixtures + "partial.json", "--profile", "b=" + fixtures + "testing.yaml"}, 2},
		{[]string{"--report", "a=" + fixtures + "partial.json", "--report", "b=" + fixtures + "partial.json", "--profile", "gvisor"}, 2},
		{[]string{"--report", "a=" + fixtures + "partial.json", "--report", "a=" + fixtures + "sandboxed.json"}, 2},
		{[]string{"--report", fixtures + "partial.json", "extra"}, 2},
		{[]string{}, 2},
	} {
		var out, errs bytes.Buffer
		if got := gateCmd(tc.args, &out, &errs); got != tc.want {
			t.Errorf("gate %v: exit %d, want %d\n%s%s", tc.args, got, tc.want, out.String(), errs.String())
		}
		if tc.want == 2 && strings.Count(strings.TrimSpace(errs.String()), "\n") > 0 && !strings.Contains(errs.String(), "Usage") {
			t.Errorf("gate %v: want one error line, got %q", tc.args, errs.String())
		}
	}
}

// The last line names the partial run and the claims.
func TestGateSummary(t *testing.T) {
	var out, errs bytes.Buffer
	gateCmd([]string{"--report", fixtures + "partial.json", "--claim", "PID-02,HOST-01"}, &out, &errs)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "gate: FAIL: partial: 3 of ") || !strings.HasSuffix(last, " Required IDs ran (not asked to be partial)") {
		t.Errorf("summary %q", last)
	}
	if !strings.Contains(out.String(), "accept it as partial with --partial (make: PARTIAL=1)") {
		t.Errorf("the partial line says how to accept it:\n%s", out.String())
	}
}

func TestStabilityExitCodes(t *testing.T) {
	var out, errs bytes.Buffer
	dir := t.TempDir()
	args := []string{"--report", "01=" + fixtures + "partial.json", "--report", "02=" + fixtures + "partial.json", "--partial", "--out", dir}
	if got := stabilityCmd(args, &out, &errs); got != 0 {
		t.Fatalf("stability: exit %d, want 0\n%s%s", got, out.String(), errs.String())
	}
	if !strings.Contains(out.String(), "stability: 2 runs, 2 green; 7 IDs stable; flaky: none") {
		t.Errorf("stability line: %s", out.String())
	}
	for _, f := range []string{"stability.json", "report.md", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	out.Reset()
	args = []string{"--report", "01=" + fixtures + "partial.json", "--report", "02=" + fixtures + "green.json", "--partial", "--out", t.TempDir()}
	if got := stabilityCmd(args, &out, &errs); got != 1 || !strings.Contains(out.String(), "flaky: IPC-03 (1 passed, 1 skipped)") {
		t.Errorf("stability with a flaky ID: exit %d\n%s", got, out.String())
	}
	if got := stabilityCmd([]string{"--report", fixtures + "partial.json"}, &out, &errs); got != 2 {
		t.Errorf("stability without --out: exit %d, want 2", got)
	}
}

func TestRenderExitCodes(t *testing.T) {
	dir := t.TempDir()
	var errs bytes.Buffer
	args := []string{"--run", "runc=" + fixtures + "runc.json", "--run", "sandboxed=" + fixtures + "sandboxed.json",
		"--profile", "sandboxed=" + fixtures + "testing.yaml", "--out", dir}
	if got := renderCmd(args, &errs); got != 0 {
		t.Fatalf("render: exit %d, want 0\n%s", got, errs.String())
	}
	for _, f := range []string{"report.md", "report.html"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("render wrote no %s: %v", f, err)
		}
	}
	// A failing run still renders: the gate, not render, decides the exit.
	if got := renderCmd([]string{"--run", "gone=" + fixtures + "nosuch.json", "--out", t.TempDir()}, &errs); got != 0 {
		t.Errorf("render of a missing report: exit %d, want 0\n%s", got, errs.String())
	}
	if got := renderCmd([]string{"--run", "runc=" + fixtures + "runc.json"}, &errs); got != 2 {
		t.Errorf("render without --out: exit %d, want 2", got)
	}
	// One profile for two runtimes' runs is a mistake: it judges one of them.
	errs.Reset()
	args = []string{"--run", "runc=" + fixtures + "runc.json", "--run", "sandboxed=" + fixtures + "sandboxed.json",
		"--profile", fixtures + "testing.yaml", "--out", t.TempDir()}
	if got := renderCmd(args, &errs); got != 2 || !strings.Contains(errs.String(), "--profile NAME=") {
		t.Errorf("render with a bare --profile and two runs: exit %d, want 2\n%s", got, errs.String())
	}
}

func TestFailedExitCodes(t *testing.T) {
	var out, errs bytes.Buffer
	if got := failedCmd([]string{"--report", fixtures + "sandboxed.json"}, &out, &errs); got != 0 {
		t.Errorf("failed sandboxed: exit %d, want 0\n%s", got, errs.String())
	}
	if got := strings.Fields(out.String()); strings.Join(got, " ") != "NET-01 NET-02 IPC-03 FS-03" {
		t.Errorf("failed sandboxed printed %q", out.String())
	}
	if got := failedCmd([]string{"--report", fixtures + "broken.json"}, &out, &errs); got != 1 {
		t.Errorf("failed broken: exit %d, want 1", got)
	}
	if got := failedCmd(nil, &out, &errs); got != 2 {
		t.Errorf("failed without --report: exit %d, want 2", got)
	}
}
