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
		{[]string{"--report", fixtures + "runc.json"}, 0},
		{[]string{"--report", fixtures + "sandboxed.json"}, 1},
		{[]string{"--report", fixtures + "sandboxed.json", "--profile", fixtures + "testing.yaml"}, 1},
		{[]string{"--report", fixtures + "runc.json", "--profile", "nosuch"}, 2},
		{[]string{"--report", "a=" + fixtures + "runc.json", "--report", "a=" + fixtures + "sandboxed.json"}, 2},
		{[]string{"--report", fixtures + "runc.json", "extra"}, 2},
		{[]string{}, 2},
	} {
		var out, errs bytes.Buffer
		if got := gateCmd(tc.args, &out, &errs); got != tc.want {
			t.Errorf("gate %v: exit %d, want %d\n%s%s", tc.args, got, tc.want, out.String(), errs.String())
		}
	}
}

func TestRenderExitCodes(t *testing.T) {
	dir := t.TempDir()
	var errs bytes.Buffer
	args := []string{"--run", "runc=" + fixtures + "runc.json", "--run", "sandboxed=" + fixtures + "sandboxed.json",
		"--profile", fixtures + "testing.yaml", "--out", dir}
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
