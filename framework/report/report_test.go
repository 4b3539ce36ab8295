package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/podsem/podsem/framework/catalogue"
	"github.com/podsem/podsem/framework/profiles"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testEntries is a small fixed catalogue, so that the goldens change when the
// rendering changes, not when the catalogue grows. The IDs are real: the
// fixtures' specs are matched against catalogue.Entries.
var testEntries = []catalogue.Entry{
	{ID: "NET-01", Area: "network", Level: catalogue.Required, Semantic: "TCP across containers on 127.0.0.1"},
	{ID: "NET-02", Area: "network", Level: catalogue.Required, Semantic: "UDP across containers on 127.0.0.1"},
	{ID: "NET-03", Area: "network", Level: catalogue.Required, Semantic: "one network identity"},
	{ID: "IPC-03", Area: "ipc", Level: catalogue.Required, Semantic: "a POSIX message queue is shared"},
	{ID: "IPC-04", Area: "ipc", Level: catalogue.Required, Semantic: "/dev/shm is shared"},
	{ID: "FS-03", Area: "filesystem", Level: catalogue.Required, Semantic: "a Memory emptyDir is shared"},
	{ID: "PID-02", Area: "pid", Level: catalogue.Optional, Semantic: "PID 1 is the sandbox | with shareProcessNamespace"},
}

// runsOf loads runs given as NAME=path or a bare path, as the command line
// does; NAME=path@PROFILE attaches a profile file to that run.
func runsOf(t *testing.T, specs ...string) []*Run {
	t.Helper()
	var pairs []NamedPath
	profileOf := map[string]string{}
	for _, s := range specs {
		name, path, ok := strings.Cut(s, "=")
		if !ok {
			name, path = s, s
		}
		if p, prof, ok := strings.Cut(path, "@"); ok {
			path, profileOf[name] = p, prof
		}
		pairs = append(pairs, NamedPath{Name: name, Path: path})
	}
	runs := LoadRuns(pairs)
	for _, r := range runs {
		if prof := profileOf[r.Name]; prof != "" {
			p, err := profiles.Load(prof)
			if err != nil {
				t.Fatal(err)
			}
			r.Profile = p
		}
	}
	return runs
}

// profileOf makes a profile listing ids, each covering failures its match
// (after "~", default ".") matches, e.g. "IPC-03~mq_open".
func profileOf(t *testing.T, ids ...string) *profiles.Profile {
	t.Helper()
	y := "description: test\ndivergences:\n"
	for _, id := range ids {
		id, match, _ := strings.Cut(id, "~")
		if match == "" {
			match = "."
		}
		y += "  - {id: " + id + ", kind: runtime, reason: documented, link: https://example.org/" + id + ", match: '" + match + "'}\n"
	}
	p, err := profiles.Parse("p", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reports []string
		listed  []string // nil: no profile; the profile judges the first run only
		o       Options
		ok      bool
		lines   []string
		summary string
	}{
		{"all passed, unfiltered", []string{"testdata/green.json"}, nil, Options{}, true, nil, "gate: pass: no failures"},
		{"failures, no profile", []string{"testdata/sandboxed.json"}, nil, Options{}, false,
			[]string{"FAIL   NET-01 failed: b could not reach", "FAIL   NET-02 timedout", "FAIL   IPC-03 failed", "FAIL   FS-03 panicked"}, "gate: FAIL: 4 failed, 1 Required skipped or not run"},
		{"a Required ID that did not run", []string{"testdata/sandboxed.json"}, []string{"NET-01", "NET-02", "IPC-03", "FS-03"}, Options{}, false,
			[]string{"FAIL   NET-03 not run: Required, did not run", "KNOWN  NET-01 failed, known divergence in profile p", "KNOWN  FS-03 panicked"}, "gate: FAIL: 1 Required skipped or not run, 4 known divergence(s)"},
		{"a Required ID skipped", []string{"testdata/runc.json"}, nil, Options{Partial: true}, false,
			[]string{"FAIL   FS-03 skipped: Required, skipped: the node offers no tmpfs | memory-backed volumes"}, "gate: FAIL: 1 Required skipped or not run, partial: 4 of 6 Required IDs ran"},
		{"a panicked spec not listed", []string{"testdata/sandboxed.json"}, []string{"NET-01", "NET-02", "IPC-03"}, Options{}, false,
			[]string{"FAIL   FS-03 panicked"}, "gate: FAIL: 1 failed (not covered by profile p), 1 Required skipped or not run, 3 known divergence(s)"},
		{"a listed ID, but not this failure", []string{"testdata/sandboxed.json"}, []string{"NET-01", "NET-02", "IPC-03~ENOSYS", "FS-03"}, Options{}, false,
			[]string{`FAIL   IPC-03 failed: profile p lists IPC-03 but not this failure (match "ENOSYS", failed at pod/ipc_test.go:77): mq_open in b: function not implemented`},
			"gate: FAIL: 1 failed (not covered by profile p), 1 Required skipped or not run, 3 known divergence(s)"},
		{"the match covers the location", []string{"testdata/sandboxed.json"}, []string{"NET-01", "NET-02", `IPC-03~ipc_test\.go:77$`, "FS-03"}, Options{}, false,
			[]string{"KNOWN  IPC-03 failed"}, "gate: FAIL: 1 Required skipped or not run, 4 known divergence(s)"},
		{"a listed spec passes", []string{"testdata/green.json"}, []string{"IPC-03"}, Options{}, true,
			[]string{"NOTE   IPC-03 listed in profile p but passed"}, "gate: pass: 1 listed but passed"},
		{"a filtered run, not asked to be partial", []string{"testdata/partial.json"}, nil, Options{}, false,
			[]string{`FAIL   partial: 3 of 6 Required IDs ran (label filter "network"): a filtered run is no verdict on the rest`},
			"gate: FAIL: partial: 3 of 6 Required IDs ran (not asked to be partial)"},
		{"a filtered run, asked to be partial", []string{"testdata/partial.json"}, nil, Options{Partial: true}, true,
			[]string{`NOTE   partial: 3 of 6 Required IDs ran (label filter "network")`}, "gate: pass: partial: 3 of 6 Required IDs ran"},
		{"a claimed Optional ID skipped", []string{"testdata/green.json"}, nil, Options{Claims: []string{"PID-02"}}, false,
			[]string{"FAIL   PID-02 skipped: claimed with --claim, skipped: shareProcessNamespace is not offered"}, "gate: FAIL: 1 claimed but not passed (PID-02)"},
		{"a claimed ID outside a partial run's filter", []string{"testdata/partial.json"}, nil, Options{Partial: true, Claims: []string{"PID-02"}}, true,
			nil, "gate: pass: partial: 3 of 6 Required IDs ran"},
		{"a claimed ID that did not run", []string{"testdata/sandboxed.json"}, []string{"NET-01", "NET-02", "IPC-03", "FS-03", "NET-03"}, Options{Claims: []string{"PID-02"}}, false,
			[]string{"FAIL   PID-02 not run: claimed with --claim, did not run"}, "gate: FAIL: 1 Required skipped or not run, 1 claimed but not passed (PID-02), 4 known divergence(s)"},
		{"a failed BeforeSuite is never known", []string{"testdata/broken.json"}, []string{"NET-01"}, Options{}, false,
			[]string{"FAIL   SynchronizedBeforeSuite failed: preflight"}, ""},
		{"a missing report fails", []string{"runc=testdata/green.json", "gone=testdata/nosuch.json"}, nil, Options{}, false,
			[]string{"FAIL   no usable report", "in gone"}, "gate: FAIL: 1 suite problem(s)"},
		// The profile is the sandboxed run's: runc's failure of an ID it lists still fails.
		{"a profile for one runtime only", []string{"sandboxed=testdata/sandboxed.json", "runc=testdata/sandboxed.json"}, []string{"NET-01", "NET-02", "IPC-03", "FS-03", "NET-03"}, Options{}, false,
			[]string{"KNOWN  IPC-03 failed in sandboxed", "FAIL   IPC-03 failed in runc: mq_open"}, "gate: FAIL: 4 failed, 2 Required skipped or not run, 4 known divergence(s)"},
	} {
		runs := runsOf(t, tc.reports...)
		if tc.listed != nil {
			runs[0].Profile = profileOf(t, tc.listed...)
		}
		v := gate(testEntries, runs, tc.o)
		out := strings.Join(v.Lines, "\n")
		if v.OK() != tc.ok {
			t.Errorf("%s: ok %v, want %v:\n%s", tc.name, v.OK(), tc.ok, out)
		}
		for _, want := range tc.lines {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, want, out)
			}
		}
		if tc.summary != "" && v.Summary() != tc.summary {
			t.Errorf("%s: summary %q, want %q:\n%s", tc.name, v.Summary(), tc.summary, out)
		}
	}
}

// A filter that selects no spec (FOCUS=NET-99) passes on nothing: it fails,
// partial or not.
func TestGateFailsAFilterThatSelectedNothing(t *testing.T) {
	runs := runsOf(t, "testdata/partial.json")
	for _, s := range runs[0].Specs {
		s.State, s.Message = types.SpecStateSkipped, ""
	}
	v := gate(testEntries, runs, Options{Partial: true})
	if out := strings.Join(v.Lines, "\n"); v.OK() || !strings.Contains(out, "selected no catalogue spec") {
		t.Errorf("ok %v, want a failure naming the empty selection:\n%s", v.OK(), out)
	}
}

// A claim by a profile reads as the profile's, and a claimed ID that passed is named.
func TestGateProfileClaims(t *testing.T) {
	p, err := profiles.Parse("vendor", []byte("description: v\ndivergences: []\nsupports: [PID-02]\n"))
	if err != nil {
		t.Fatal(err)
	}
	runs := runsOf(t, "testdata/green.json")
	runs[0].Profile = p
	v := gate(testEntries, runs, Options{})
	if v.OK() || !strings.Contains(strings.Join(v.Lines, "\n"), "FAIL   PID-02 skipped: claimed by profile vendor, skipped:") {
		t.Errorf("a claimed skip must fail, naming the profile:\n%s", strings.Join(v.Lines, "\n"))
	}
	runs[0].Specs["PID-02"].State = types.SpecStatePassed
	if v := gate(testEntries, runs, Options{}); !v.OK() || v.Summary() != "gate: pass: claimed and passed: PID-02" {
		t.Errorf("claimed and passed: %s\n%s", v.Summary(), strings.Join(v.Lines, "\n"))
	}
}

// Every gate line says what failed and why in one line.
func TestGateLinesAreOneLine(t *testing.T) {
	runs := runsOf(t, "sandboxed=testdata/sandboxed.json", "runc=testdata/runc.json", "broken=testdata/broken.json")
	for _, l := range gate(testEntries, runs, Options{Claims: []string{"PID-02"}}).Lines {
		if strings.Contains(l, "\n") {
			t.Errorf("a gate line spans lines: %q", l)
		}
	}
}

func TestStability(t *testing.T) {
	runs := runsOf(t, "01=testdata/green.json", "02=testdata/green.json", "03=testdata/green.json")
	runs[1].Specs["NET-02"].State = types.SpecStateFailed
	runs[1].Specs["NET-02"].Message = "b got no answer"
	runs[2].Specs["FS-03"].State = types.SpecStateSkipped
	runs[2].Specs["FS-03"].Message = "the node offers no tmpfs"
	st := stability(testEntries, runs, Options{})
	if want := "stability: 3 runs, 1 green (gate failed in 02, 03); 5 IDs stable; flaky: NET-02 (2 passed, 1 failed), FS-03 (2 passed, 1 skipped)"; st.Summary() != want {
		t.Errorf("summary:\n  got  %s\n  want %s", st.Summary(), want)
	}
	if st.OK() || strings.Join(st.Flaky, " ") != "NET-02 FS-03" {
		t.Errorf("ok %v, flaky %v", st.OK(), st.Flaky)
	}
	for _, is := range st.IDs {
		if is.ID == "PID-02" && (is.Skipped != 3 || is.Flaky) {
			t.Errorf("PID-02, skipped every time, is stable: %+v", is)
		}
	}
	green := stability(testEntries, runsOf(t, "01=testdata/green.json", "02=testdata/green.json"), Options{})
	if !green.OK() || green.Summary() != "stability: 2 runs, 2 green; 7 IDs stable; flaky: none" {
		t.Errorf("green: %s", green.Summary())
	}
}

// WriteStability is what bin/report stability calls: the whole catalogue.
func TestWriteStability(t *testing.T) {
	dir := t.TempDir()
	st, err := WriteStability(dir, runsOf(t, "01=testdata/partial.json", "02=testdata/partial.json"), Options{Partial: true}, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if !st.OK() {
		t.Errorf("two identical partial runs, accepted as partial: %s", st.Summary())
	}
	raw, err := os.ReadFile(filepath.Join(dir, "stability.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Stability
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Runs) != 2 || len(back.IDs) != len(catalogue.Entries) {
		t.Errorf("stability.json: %v %+v", err, back)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !bytes.Contains(md, []byte("## Stability over 2 runs")) {
		t.Errorf("report.md has no stability section: %v", err)
	}
}

func TestFailedIDs(t *testing.T) {
	ids, err := FailedIDs("testdata/sandboxed.json")
	if err != nil || strings.Join(ids, " ") != "NET-01 NET-02 IPC-03 FS-03" {
		t.Errorf("sandboxed: %v %v", ids, err)
	}
	if ids, err := FailedIDs("testdata/runc.json"); err != nil || len(ids) != 0 {
		t.Errorf("runc: %v %v", ids, err)
	}
	if _, err := FailedIDs("testdata/broken.json"); err == nil {
		t.Error("broken: a run that failed outside the specs must be an error, not an empty list")
	}
}

// The HTML is one file that works offline: nothing to fetch, and what the
// containers reported is escaped.
func TestHTMLIsSelfContained(t *testing.T) {
	html, err := renderHTML(buildMatrix(testEntries, runsOf(t, "runc=testdata/runc.json", "sandboxed=testdata/sandboxed.json@testdata/testing.yaml"), Options{}, Meta{}))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(src|href)="?https?://`).Find(html); m != nil {
		t.Errorf("the HTML links out: %s", m)
	}
	for _, bad := range []string{"<script", "<link", "@import", "url("} {
		if bytes.Contains(html, []byte(bad)) {
			t.Errorf("the HTML contains %q", bad)
		}
	}
	if !bytes.Contains(html, []byte("&lt;script&gt;alert(1)&lt;/script&gt;")) {
		t.Error("a report entry's markup is not escaped")
	}
	if !bytes.Contains(html, []byte("https://example.org/sandbox/issues/136")) {
		t.Error("the profile's upstream link is not shown as text")
	}
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		runs []string
		o    Options
		meta Meta
	}{
		// The Kubernetes version comes from runc's preflight entry, not the flag.
		// The profile is sandboxed's alone; runc is a partial run.
		{"matrix", []string{"runc=testdata/runc.json", "sandboxed=testdata/sandboxed.json@testdata/testing.yaml"}, Options{Partial: true},
			Meta{Kubernetes: "v0.0.0-unused", Kind: "v0.33.0"}},
		// No profile, no preflight entry, a run that never got to its specs.
		{"unprofiled", []string{"sandboxed=testdata/sandboxed.json", "broken=testdata/broken.json"}, Options{}, Meta{Kubernetes: "v1.37.2"}},
		// Repeats of one run: the last one's matrix, and the stability table.
		{"stability", []string{"01=testdata/green.json", "02=testdata/runc.json"}, Options{Claims: []string{"PID-02"}}, Meta{Kubernetes: "v1.37.2"}},
	} {
		runs := runsOf(t, tc.runs...)
		var mx *matrix
		if tc.name == "stability" {
			mx = buildMatrix(testEntries, runs[len(runs)-1:], tc.o, tc.meta)
			mx.Stability = stability(testEntries, runs, tc.o)
		} else {
			mx = buildMatrix(testEntries, runs, tc.o, tc.meta)
		}
		md, err := renderMarkdown(mx)
		if err != nil {
			t.Fatal(err)
		}
		html, err := renderHTML(mx)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, filepath.Join("testdata", tc.name+".golden.md"), md)
		golden(t, filepath.Join("testdata", tc.name+".golden.html"), html)
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./framework/report -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendering; if the change is intended, go test ./framework/report -update\n%s", path, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first line that differs, enough to see what changed.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, wl, gl)
		}
	}
	return ""
}

// Render is what a launcher calls: the whole catalogue, both files.
func TestRender(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if err := Render(dir, runsOf(t, "runc=testdata/runc.json"), Options{}, Meta{Kubernetes: "v1.37.2"}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range catalogue.Entries {
		if !bytes.Contains(md, []byte("| "+e.ID+" |")) {
			t.Errorf("report.md has no row for %s", e.ID)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
		t.Error(err)
	}
}
