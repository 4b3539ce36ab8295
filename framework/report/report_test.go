package report

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

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

// runsOf loads runs given as NAME=path or a bare path, as the command line does.
func runsOf(specs ...string) []*Run {
	var pairs []NamedPath
	for _, s := range specs {
		name, path, ok := strings.Cut(s, "=")
		if !ok {
			name, path = s, s
		}
		pairs = append(pairs, NamedPath{Name: name, Path: path})
	}
	return LoadRuns(pairs)
}

func profileOf(t *testing.T, ids ...string) *profiles.Profile {
	t.Helper()
	y := "description: test\ndivergences:\n"
	for _, id := range ids {
		y += "  - {id: " + id + ", kind: runtime, reason: documented, link: https://example.org/" + id + "}\n"
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
		listed  []string // nil: no profile
		ok      bool
		lines   []string
	}{
		{"all passed, no profile", []string{"testdata/runc.json"}, nil, true, nil},
		{"failures, no profile", []string{"testdata/sandboxed.json"}, nil, false,
			[]string{"FAIL   NET-01 failed", "FAIL   NET-02 timedout", "FAIL   IPC-03 failed", "FAIL   FS-03 panicked"}},
		{"every failure listed", []string{"testdata/sandboxed.json"}, []string{"NET-01", "NET-02", "IPC-03", "FS-03"}, true,
			[]string{"KNOWN  NET-01 failed, known divergence in profile p", "KNOWN  FS-03 panicked"}},
		{"a panicked spec not listed", []string{"testdata/sandboxed.json"}, []string{"NET-01", "NET-02", "IPC-03"}, false,
			[]string{"FAIL   FS-03 panicked"}},
		{"a listed spec passes", []string{"testdata/runc.json"}, []string{"IPC-03"}, true,
			[]string{"NOTE   IPC-03 listed in profile p but passed"}},
		{"a failed BeforeSuite is never known", []string{"testdata/broken.json"}, []string{"NET-01"}, false,
			[]string{"FAIL   SynchronizedBeforeSuite failed: preflight"}},
		{"a missing report fails", []string{"runc=testdata/runc.json", "gone=testdata/nosuch.json"}, nil, false,
			[]string{"FAIL   no usable report", "in gone"}},
	} {
		var p *profiles.Profile
		if tc.listed != nil {
			p = profileOf(t, tc.listed...)
		}
		v := Gate(runsOf(tc.reports...), p)
		out := strings.Join(v.Lines, "\n")
		if v.OK() != tc.ok {
			t.Errorf("%s: ok %v, want %v:\n%s", tc.name, v.OK(), tc.ok, out)
		}
		for _, want := range tc.lines {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, want, out)
			}
		}
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
	p, err := profiles.Load("testdata/testing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	html, err := renderHTML(buildMatrix(testEntries, runsOf("runc=testdata/runc.json", "sandboxed=testdata/sandboxed.json"), p, Meta{}))
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
		name    string
		runs    []string
		profile string
		meta    Meta
	}{
		// The Kubernetes version comes from runc's preflight entry, not the flag.
		{"matrix", []string{"runc=testdata/runc.json", "sandboxed=testdata/sandboxed.json"}, "testdata/testing.yaml", Meta{Kubernetes: "v0.0.0-unused", Kind: "v0.33.0"}},
		// No profile, no preflight entry, a run that never got to its specs.
		{"unprofiled", []string{"sandboxed=testdata/sandboxed.json", "broken=testdata/broken.json"}, "", Meta{Kubernetes: "v1.37.2"}},
	} {
		var p *profiles.Profile
		if tc.profile != "" {
			var err error
			if p, err = profiles.Load(tc.profile); err != nil {
				t.Fatal(err)
			}
		}
		mx := buildMatrix(testEntries, runsOf(tc.runs...), p, tc.meta)
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
	if err := Render(dir, runsOf("runc=testdata/runc.json"), nil, Meta{Kubernetes: "v1.37.2"}); err != nil {
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
