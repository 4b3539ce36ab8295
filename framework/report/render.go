package report

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/podsem/podsem/framework/catalogue"
	"github.com/podsem/podsem/framework/profiles"
)

// Meta is what the reports cannot tell: the go.mod pin of Kubernetes (for runs
// whose preflight did not report the cluster's version) and the kind version.
// Either may be empty.
type Meta struct{ Kubernetes, Kind string }

// Render writes dir/report.md and dir/report.html, the matrix of every
// catalogue entry by run, each run judged against its own profile. dir is
// created if need be.
func Render(dir string, runs []*Run, o Options, m Meta) error {
	return writeReports(dir, buildMatrix(catalogue.Entries, runs, o, m))
}

// matrix is everything report.md and report.html show.
type matrix struct {
	Date       string
	Kubernetes string
	Kind       string
	// Profiles are the runs' profiles, each once, in run order.
	Profiles     []*profiles.Profile
	Claims       []string // --claim, for every run
	Runs         []runView
	Areas        []areaView
	Notes        []*cell // failures and known divergences, with their evidence
	ListedPassed []*cell
	Problems     []string // per run, failures outside the catalogue specs
	Verdict      string
	OK           bool
	// Stability is set when the runs are repeats of one suite run.
	Stability *Stability
}

type runView struct {
	Name     string
	Profile  string
	Tally    tally
	Wall     string
	Start    string
	Cluster  string
	Problems []string
	Verdict  string
}

type areaView struct {
	Name string
	Rows []rowView
}

type rowView struct {
	Entry catalogue.Entry
	Cells []*cell
}

// cell is one catalogue ID in one run, with what the spec recorded.
type cell struct {
	Run, ID, Semantic, Anchor string
	Outcome                   outcome
	Label                     string
	Time                      string
	Skip                      string
	Profile                   string
	Div                       *profiles.Divergence
	Claim                     string // who claims the ID, if anyone
	Why                       string // what makes it a failure beyond its message
	Message, Location         string
	Entries                   []Entry
}

// Class is the cell's CSS class.
func (c *cell) Class() string { return strings.ReplaceAll(string(c.Outcome), " ", "-") }

// buildMatrix takes the entries as a parameter so that tests can render a small
// fixed catalogue.
func buildMatrix(entries []catalogue.Entry, runs []*Run, o Options, m Meta) *matrix {
	mx := &matrix{Kind: m.Kind, Claims: o.Claims}

	var first time.Time
	for _, r := range runs {
		if !r.Start.IsZero() && (first.IsZero() || r.Start.Before(first)) {
			first = r.Start
		}
		if mx.Kubernetes == "" {
			if v := kubernetesVersion.FindStringSubmatch(r.Cluster); v != nil {
				mx.Kubernetes = v[1] + " (reported by the cluster)"
			}
		}
	}
	if !first.IsZero() {
		mx.Date = first.UTC().Format("2006-01-02 15:04 UTC")
	}
	if mx.Kubernetes == "" && m.Kubernetes != "" {
		mx.Kubernetes = m.Kubernetes + " (the version go.mod pins; no run reported the cluster's)"
	}

	for _, r := range runs {
		v := gate(entries, []*Run{r}, o)
		rv := runView{Name: r.Name, Tally: count(r, entries, o), Cluster: r.Cluster, Problems: r.Problems, Verdict: "pass"}
		if !v.OK() {
			rv.Verdict = "FAIL"
		}
		if len(v.Partial) > 0 {
			rv.Verdict += " (partial: " + r.filters() + ")"
		}
		if p := r.Profile; p != nil {
			rv.Profile = p.Name
			if !slices.ContainsFunc(mx.Profiles, func(q *profiles.Profile) bool { return q.Name == p.Name }) {
				mx.Profiles = append(mx.Profiles, p)
			}
		}
		if !r.Start.IsZero() {
			rv.Wall = r.Wall.Round(100 * time.Millisecond).String()
			rv.Start = r.Start.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		mx.Runs = append(mx.Runs, rv)
		for _, prob := range r.Problems {
			mx.Problems = append(mx.Problems, r.Name+": "+prob)
		}
	}
	all := gate(entries, runs, o)
	mx.Verdict, mx.OK = all.Summary(), all.OK()

	for _, e := range entries {
		if len(mx.Areas) == 0 || mx.Areas[len(mx.Areas)-1].Name != e.Area {
			mx.Areas = append(mx.Areas, areaView{Name: e.Area})
		}
		row := rowView{Entry: e}
		for _, r := range runs {
			c := newCell(r, e, o)
			row.Cells = append(row.Cells, c)
			switch c.Outcome {
			case fail, known:
				mx.Notes = append(mx.Notes, c)
			case listedPassed:
				mx.ListedPassed = append(mx.ListedPassed, c)
			}
		}
		a := &mx.Areas[len(mx.Areas)-1]
		a.Rows = append(a.Rows, row)
	}
	return mx
}

var failLabels = map[types.SpecState]string{
	types.SpecStateFailed:      "FAIL",
	types.SpecStateTimedout:    "FAIL (timed out)",
	types.SpecStatePanicked:    "FAIL (panicked)",
	types.SpecStateInterrupted: "FAIL (interrupted)",
	types.SpecStateAborted:     "FAIL (aborted)",
}

func newCell(r *Run, e catalogue.Entry, o Options) *cell {
	j := judge(r, e, o)
	c := &cell{Run: r.Name, ID: e.ID, Semantic: e.Semantic, Outcome: j.outcome, Label: string(j.outcome), Div: j.div,
		Claim: j.claim, Why: j.why, Anchor: "c-" + anchorSafe(r.Name) + "-" + e.ID}
	if r.Profile != nil {
		c.Profile = r.Profile.Name
	}
	s := r.Specs[e.ID]
	if s == nil {
		if j.outcome == fail {
			c.Label = "FAIL (not run)"
		}
		return c
	}
	c.Entries = s.Entries
	if s.State == types.SpecStatePassed || s.failed() {
		c.Time = s.RunTime.Round(100 * time.Millisecond).String()
	}
	switch {
	case j.outcome == fail && s.failed():
		c.Label = failLabels[s.State]
	case j.outcome == fail:
		c.Label = "FAIL (" + s.State.String() + ")"
		c.Skip = r.skipReason(s)
	case j.outcome == skipped:
		c.Skip = r.skipReason(s)
	}
	if s.failed() {
		c.Message, c.Location = s.Message, s.Location
	}
	return c
}

// kubernetesVersion is the version a preflight summary reports, e.g. "v1.37.2".
var kubernetesVersion = regexp.MustCompile(`\(Kubernetes (v[^)\s]+)\)`)

var unsafeAnchor = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func anchorSafe(s string) string { return unsafeAnchor.ReplaceAllString(s, "_") }

//go:embed report.md.tmpl report.html.tmpl
var templates embed.FS

// pretty indents a JSON value (what podprobe reports); anything else stays as is.
func pretty(s string) string {
	var b bytes.Buffer
	if (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) && json.Indent(&b, []byte(s), "", "  ") == nil {
		return b.String()
	}
	return s
}

// mdCell makes text safe inside a Markdown table cell.
func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// fence puts s in a fenced block whose fence is longer than any backtick run in s.
func fence(s string) string {
	f := "```"
	for strings.Contains(s, f) {
		f += "`"
	}
	return f + "\n" + strings.TrimRight(s, "\n") + "\n" + f
}

// code puts s in an inline code span whose backticks outnumber any run in s.
func code(s string) string {
	ticks := "`"
	for strings.Contains(s, ticks) {
		ticks += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return ticks + s + ticks
}

// trimLines keeps the first n lines of s, saying so.
func trimLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("… (%d more lines in report.html)", len(lines)-n))
	}
	return trim(strings.Join(lines, "\n"), 4000)
}

var funcs = map[string]any{
	"pretty":    pretty,
	"mdcell":    mdCell,
	"fence":     fence,
	"code":      code,
	"trim":      trim,
	"trimlines": trimLines,
	"firstline": firstLine,
	"oneline":   func(s string) string { return strings.Join(strings.Fields(s), " ") },
	"add":       func(a, b int) int { return a + b },
}

func renderMarkdown(mx *matrix) ([]byte, error) {
	t, err := texttemplate.New("report.md.tmpl").Funcs(funcs).ParseFS(templates, "report.md.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = t.Execute(&b, mx)
	return b.Bytes(), err
}

func renderHTML(mx *matrix) ([]byte, error) {
	t, err := htmltemplate.New("report.html.tmpl").Funcs(funcs).ParseFS(templates, "report.html.tmpl")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = t.Execute(&b, mx)
	return b.Bytes(), err
}

func writeReports(dir string, mx *matrix) error {
	md, err := renderMarkdown(mx)
	if err != nil {
		return err
	}
	html, err := renderHTML(mx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), md, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.html"), html, 0o644)
}
