package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/podsem/podsem/framework/catalogue"
)

// Stability is how every catalogue ID fared over repeats of one suite run: a
// spec that passed in one run and failed or was skipped in another is flaky,
// and is named, never averaged away.
type Stability struct {
	Runs   []RepeatRun   `json:"runs"`
	Green  int           `json:"green"`  // runs whose gate passed
	Stable int           `json:"stable"` // IDs with one outcome in every run (never-run IDs aside)
	Flaky  []string      `json:"flaky"`  // IDs with more than one outcome
	IDs    []IDStability `json:"ids"`
}

// RepeatRun is one repeat and its gate verdict.
type RepeatRun struct {
	Name   string `json:"name"`
	Report string `json:"report"`
	Green  bool   `json:"green"`
	Gate   string `json:"gate"`
}

// IDStability counts one ID's outcomes over the runs.
type IDStability struct {
	ID      string `json:"id"`
	Level   string `json:"level"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"` // any failure state, known divergences too
	Skipped int    `json:"skipped"`
	NotRun  int    `json:"notRun"`
	Flaky   bool   `json:"flaky"`
}

// Counts says how the ID fared, e.g. "12 passed, 8 failed".
func (s IDStability) Counts() string {
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{s.Passed, "passed"}, {s.Failed, "failed"}, {s.Skipped, "skipped"}, {s.NotRun, "not run"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return strings.Join(parts, ", ")
}

// Stable judges each run with the gate and counts, per catalogue ID, how the
// runs ended.
func Stable(runs []*Run, o Options) *Stability { return stability(catalogue.Entries, runs, o) }

func stability(entries []catalogue.Entry, runs []*Run, o Options) *Stability {
	st := &Stability{Flaky: []string{}}
	for _, r := range runs {
		v := gate(entries, []*Run{r}, o)
		st.Runs = append(st.Runs, RepeatRun{Name: r.Name, Report: r.Path, Green: v.OK(), Gate: v.Summary()})
		if v.OK() {
			st.Green++
		}
	}
	for _, e := range entries {
		is := IDStability{ID: e.ID, Level: string(e.Level)}
		for _, r := range runs {
			switch s := r.Specs[e.ID]; {
			case s == nil:
				is.NotRun++
			case s.State == types.SpecStatePassed:
				is.Passed++
			case s.failed():
				is.Failed++
			default:
				is.Skipped++
			}
		}
		outcomes := 0
		for _, n := range []int{is.Passed, is.Failed, is.Skipped, is.NotRun} {
			if n > 0 {
				outcomes++
			}
		}
		switch {
		case outcomes > 1:
			is.Flaky = true
			st.Flaky = append(st.Flaky, e.ID)
		case is.NotRun < len(runs):
			st.Stable++
		}
		st.IDs = append(st.IDs, is)
	}
	return st
}

// OK says whether every run's gate passed and no ID is flaky.
func (st *Stability) OK() bool { return st.Green == len(st.Runs) && len(st.Flaky) == 0 }

// Summary is the one line, e.g. "stability: 20 runs, 20 green; 36 IDs stable; flaky: none".
func (st *Stability) Summary() string {
	flaky := "none"
	if len(st.Flaky) > 0 {
		var named []string
		for _, is := range st.IDs {
			if is.Flaky {
				named = append(named, fmt.Sprintf("%s (%s)", is.ID, is.Counts()))
			}
		}
		flaky = strings.Join(named, ", ")
	}
	green := fmt.Sprintf("%d green", st.Green)
	if st.Green < len(st.Runs) {
		var red []string
		for _, r := range st.Runs {
			if !r.Green {
				red = append(red, r.Name)
			}
		}
		green += " (gate failed in " + strings.Join(red, ", ") + ")"
	}
	return fmt.Sprintf("stability: %d runs, %s; %d IDs stable; flaky: %s", len(st.Runs), green, st.Stable, flaky)
}

// WriteStability writes dir/stability.json, and dir/report.md and
// dir/report.html: the matrix of the last run with the stability table.
func WriteStability(dir string, runs []*Run, o Options, m Meta) (*Stability, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("no runs")
	}
	st := Stable(runs, o)
	mx := buildMatrix(catalogue.Entries, runs[len(runs)-1:], o, m)
	mx.Stability = st
	if err := writeReports(dir, mx); err != nil {
		return st, err
	}
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return st, err
	}
	return st, os.WriteFile(filepath.Join(dir, "stability.json"), append(raw, '\n'), 0o644)
}
