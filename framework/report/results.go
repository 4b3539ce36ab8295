// Package report turns the suite's Ginkgo JSON reports into what CI gates on and
// runtime vendors share: a gate verdict against a known-divergence profile, the
// matrix of catalogue IDs by run as report.md and report.html, and the IDs of
// the failed specs. hack/report is its command line; a launcher can call it
// in-process.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/podsem/podsem/framework/catalogue"
	"github.com/podsem/podsem/framework/profiles"
)

// Spec is what one run recorded for one catalogue ID.
type Spec struct {
	ID      string
	State   types.SpecState
	RunTime time.Duration
	// Message is the failure message, or the skip reason.
	Message  string
	Location string
	Entries  []Entry
}

// Entry is one report entry: a container's probe output, a pod summary.
type Entry struct{ Name, Value string }

func (s *Spec) failed() bool { return s != nil && s.State.Is(types.SpecStateFailureStates) }

// Run is one suite run: a RuntimeClass (or any name) and its report.
type Run struct {
	Name     string
	Path     string
	Specs    map[string]*Spec
	Start    time.Time
	Wall     time.Duration
	Filter   string   // the run's label filter, to explain specs it did not select
	Focus    []string // the run's other filters (--focus, --skip, files), as "--focus X"
	Cluster  string   // the preflight summary, when the report has one
	Problems []string
	// Profile judges this run's failures (nil: none); a profile attaches to
	// one run, never to another runtime's.
	Profile *profiles.Profile
}

// Filtered says whether the run selected only some specs: its verdict is
// partial, a verdict on what it selected only.
func (r *Run) Filtered() bool { return r.Filter != "" || len(r.Focus) > 0 }

// filters says how the run was filtered, for the partial line.
func (r *Run) filters() string {
	var f []string
	if r.Filter != "" {
		f = append(f, fmt.Sprintf("label filter %q", r.Filter))
	}
	return strings.Join(append(f, r.Focus...), ", ")
}

// e2eDefaultSkip is the skip the e2e framework sets when a run gives no focus,
// skip or label filter (test/e2e/framework/test_context.go): no podsem spec is
// tagged so, and it filters nothing.
const e2eDefaultSkip = `\[Flaky\]|\[Feature:.+\]`

// ReadRun decodes a ginkgo JSON report. Failures outside catalogue specs (a
// failed BeforeSuite, an interrupted suite) become Problems: the gate fails on them.
func ReadRun(name, path string) (*Run, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	r := &Run{Name: name, Path: path, Specs: map[string]*Spec{}}
	problems := map[string]bool{}
	problem := func(p string) {
		if !problems[p] {
			problems[p] = true
			r.Problems = append(r.Problems, p)
		}
	}
	anyFailed := false
	for _, rep := range reports {
		if r.Start.IsZero() || rep.StartTime.Before(r.Start) {
			r.Start = rep.StartTime
		}
		r.Wall += rep.RunTime
		r.Filter = rep.SuiteConfig.LabelFilter
		r.Focus = nil
		skips := rep.SuiteConfig.SkipStrings
		if len(skips) == 1 && skips[0] == e2eDefaultSkip {
			skips = nil
		}
		for _, f := range []struct {
			flag   string
			values []string
		}{
			{"--focus", rep.SuiteConfig.FocusStrings}, {"--skip", skips},
			{"--focus-file", rep.SuiteConfig.FocusFiles}, {"--skip-file", rep.SuiteConfig.SkipFiles},
		} {
			for _, v := range f.values {
				r.Focus = append(r.Focus, fmt.Sprintf("%s %q", f.flag, v))
			}
		}
		for _, reason := range rep.SpecialSuiteFailureReasons {
			problem("suite: " + firstLine(reason))
		}
		for _, sr := range rep.SpecReports {
			for _, e := range sr.ReportEntries {
				if e.Name == "preflight" {
					r.Cluster = e.Value.Representation
				}
			}
			id, ok := idOf(sr.LeafNodeText)
			if sr.LeafNodeType != types.NodeTypeIt || !ok {
				if sr.State.Is(types.SpecStateFailureStates) {
					what := sr.LeafNodeType.String()
					if sr.LeafNodeText != "" {
						what += " " + sr.LeafNodeText
					}
					problem(fmt.Sprintf("%s %s: %s", what, sr.State, firstLine(sr.Failure.Message)))
				}
				continue
			}
			s := &Spec{ID: id, State: sr.State, RunTime: sr.RunTime, Message: sr.Failure.Message}
			if sr.Failure.ForwardedPanic != "" {
				s.Message = strings.TrimSpace(s.Message + "\npanic: " + sr.Failure.ForwardedPanic)
			}
			if sr.State.Is(types.SpecStateFailureStates) && sr.Failure.Location.FileName != "" {
				s.Location = fmt.Sprintf("%s:%d", shortPath(sr.Failure.Location.FileName), sr.Failure.Location.LineNumber)
			}
			if sr.State == types.SpecStatePending {
				s.Message = "pending"
			}
			for _, e := range sr.ReportEntries {
				s.Entries = append(s.Entries, Entry{e.Name, e.Value.Representation})
			}
			// One spec per ID; should a report hold two, the failure is what counts.
			if prev := r.Specs[id]; prev == nil || !prev.failed() {
				r.Specs[id] = s
			}
			anyFailed = anyFailed || s.failed()
		}
		if !rep.SuiteSucceeded && !anyFailed && len(r.Problems) == 0 {
			problem("suite: did not succeed, and no failed spec says why")
		}
	}
	if len(r.Specs) == 0 && len(r.Problems) == 0 {
		problem("the report holds no catalogue spec")
	}
	return r, nil
}

// NamedPath names one report: the run's name (a RuntimeClass, say) and the
// path of its Ginkgo JSON report.
type NamedPath struct{ Name, Path string }

// LoadRuns reads every run; an unreadable report is a run with a problem and no
// specs, so the gate fails on it and the matrix shows its column as not run.
func LoadRuns(pairs []NamedPath) []*Run {
	var runs []*Run
	for _, np := range pairs {
		r, err := ReadRun(np.Name, np.Path)
		if err != nil {
			r = &Run{Name: np.Name, Path: np.Path, Specs: map[string]*Spec{}, Problems: []string{"no usable report: " + err.Error()}}
		}
		runs = append(runs, r)
	}
	return runs
}

// FailedIDs lists the failed specs of a report, in catalogue order. A run that
// failed outside any spec (a failed BeforeSuite, say) has nothing to rerun by
// ID: that is an error.
func FailedIDs(path string) ([]string, error) {
	r, err := ReadRun(path, path)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range catalogue.Entries {
		if r.Specs[e.ID].failed() {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) == 0 && len(r.Problems) > 0 {
		return nil, errors.New("the run failed outside the specs, so there is nothing to rerun by ID (" + strings.Join(r.Problems, "; ") + "): run make e2e")
	}
	return ids, nil
}

// idOf finds the catalogue ID a spec text starts with.
func idOf(text string) (string, bool) {
	for _, e := range catalogue.Entries {
		if strings.HasPrefix(text, "["+e.ID+"]") {
			return e.ID, true
		}
	}
	return "", false
}

func shortPath(p string) string {
	dir, file := filepath.Split(p)
	return filepath.Join(filepath.Base(dir), file)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i]) + " …"
	}
	return trim(s, 240)
}

// trim cuts s to at most n runes, saying so.
func trim(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
