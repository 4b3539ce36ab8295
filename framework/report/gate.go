package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/podsem/podsem/framework/catalogue"
	"github.com/podsem/podsem/framework/profiles"
)

// Options are what the gate is told beside the runs.
type Options struct {
	// Partial accepts filtered runs: their Required IDs outside the filter are
	// counted, not failures. Without it a filtered run fails the gate.
	Partial bool
	// Claims are Optional IDs claimed for every run, beside those each run's
	// profile supports: a claimed ID that does not pass fails the gate.
	Claims []string
}

// Verdict is the gate's judgement over one or more runs.
type Verdict struct {
	Lines        []string
	Failed       int // failed specs no profile covers
	Missing      int // Required specs skipped, or not run, where the run selected them
	ClaimsFailed []string
	ClaimsPassed []string
	Known        int // failed specs their run's profile covers
	ListedPassed int
	Problems     int      // failures outside catalogue specs, missing reports
	Partial      []string // per filtered run: "4 of 6 Required IDs ran in NAME"
	// PartialAccepted: the gate was told the runs may be partial.
	PartialAccepted bool
	profiles        []string // the profiles of the runs with failures they do not cover
}

// OK says whether the gate passes: every failed spec is a divergence its run's
// profile covers, every Required spec the runs selected ran and passed, every
// claimed ID passed, nothing failed outside the specs, and a filtered run was
// accepted as partial.
func (v Verdict) OK() bool {
	return v.Failed == 0 && v.Missing == 0 && len(v.ClaimsFailed) == 0 && v.Problems == 0 &&
		(len(v.Partial) == 0 || v.PartialAccepted)
}

// Summary is the gate's last line, "gate: pass: ..." or "gate: FAIL: ...".
func (v Verdict) Summary() string {
	state := "pass"
	if !v.OK() {
		state = "FAIL"
	}
	var parts []string
	if v.Failed > 0 {
		s := fmt.Sprintf("%d failed", v.Failed)
		if len(v.profiles) > 0 {
			s += " (not covered by profile " + strings.Join(v.profiles, ", ") + ")"
		}
		parts = append(parts, s)
	}
	if v.Missing > 0 {
		parts = append(parts, fmt.Sprintf("%d Required skipped or not run", v.Missing))
	}
	if len(v.ClaimsFailed) > 0 {
		parts = append(parts, fmt.Sprintf("%d claimed but not passed (%s)", len(v.ClaimsFailed), strings.Join(v.ClaimsFailed, ", ")))
	}
	if v.Problems > 0 {
		parts = append(parts, fmt.Sprintf("%d suite problem(s)", v.Problems))
	}
	if len(v.Partial) > 0 {
		s := "partial: " + strings.Join(v.Partial, "; ")
		if !v.PartialAccepted {
			s += " (not asked to be partial)"
		}
		parts = append(parts, s)
	}
	if v.Known > 0 {
		parts = append(parts, fmt.Sprintf("%d known divergence(s)", v.Known))
	}
	if len(v.ClaimsPassed) > 0 {
		parts = append(parts, "claimed and passed: "+strings.Join(v.ClaimsPassed, ", "))
	}
	if v.ListedPassed > 0 {
		parts = append(parts, fmt.Sprintf("%d listed but passed", v.ListedPassed))
	}
	if len(parts) == 0 {
		parts = append(parts, "no failures")
	}
	return fmt.Sprintf("gate: %s: %s", state, strings.Join(parts, ", "))
}

// Gate judges runs, each against its own profile (Run.Profile; nil: none, so
// any failure fails): one line per failure, per listed spec that passed, per
// partial run and per suite problem. A timed out, panicked or interrupted spec
// is a failure like any other.
func Gate(runs []*Run, o Options) Verdict { return gate(catalogue.Entries, runs, o) }

// gate takes the entries as a parameter so that tests can judge a small fixed
// catalogue.
func gate(entries []catalogue.Entry, runs []*Run, o Options) Verdict {
	v := Verdict{PartialAccepted: o.Partial}
	for _, r := range runs {
		in := ""
		if len(runs) > 1 || r.Name != r.Path {
			in = " in " + r.Name
		}
		for _, prob := range r.Problems {
			v.Problems++
			v.Lines = append(v.Lines, fmt.Sprintf("FAIL   %s%s", prob, in))
		}
		uncovered := false
		for _, e := range entries {
			s := r.Specs[e.ID]
			j := judge(r, e, o)
			state := "not run"
			if s != nil {
				state = s.State.String()
			}
			switch {
			case j.outcome == fail:
				text := j.why
				if s.failed() {
					text = strings.TrimPrefix(text+": ", ": ") + firstLine(s.Message)
				}
				v.Lines = append(v.Lines, fmt.Sprintf("FAIL   %s %s%s: %s", e.ID, state, in, text))
				switch {
				case j.claim != "":
					v.ClaimsFailed = append(v.ClaimsFailed, e.ID+in)
				case s.failed():
					v.Failed++
					uncovered = true
				default:
					v.Missing++
				}
			case j.outcome == known:
				v.Known++
				v.Lines = append(v.Lines, fmt.Sprintf("KNOWN  %s %s%s, known divergence in profile %s: %s (%s)",
					e.ID, state, in, r.Profile.Name, firstLine(j.div.Reason), j.div.Link))
			case j.outcome == listedPassed:
				v.ListedPassed++
				v.Lines = append(v.Lines, fmt.Sprintf("NOTE   %s listed in profile %s but passed%s", e.ID, r.Profile.Name, in))
			}
			if j.claim != "" && j.outcome == pass {
				v.ClaimsPassed = append(v.ClaimsPassed, e.ID+in)
			}
		}
		if uncovered && r.Profile != nil && !slices.Contains(v.profiles, r.Profile.Name) {
			v.profiles = append(v.profiles, r.Profile.Name)
		}
		if r.Filtered() && selectedNone(entries, r) {
			// A FOCUS that names no spec (a typo, an ID of a newer catalogue)
			// would otherwise pass on nothing.
			v.Problems++
			v.Lines = append(v.Lines, fmt.Sprintf("FAIL   the run's filters (%s) selected no catalogue spec%s: nothing was judged", r.filters(), in))
		}
		if r.Filtered() {
			ran, required := requiredRan(entries, r)
			p := fmt.Sprintf("%d of %d Required IDs ran%s", ran, required, in)
			v.Partial = append(v.Partial, p)
			if o.Partial {
				v.Lines = append(v.Lines, fmt.Sprintf("NOTE   partial: %s (%s): Required IDs outside the filter are counted, not judged", p, r.filters()))
			} else {
				v.Lines = append(v.Lines, fmt.Sprintf("FAIL   partial: %s (%s): a filtered run is no verdict on the rest; accept it as partial with --partial (make: PARTIAL=1)", p, r.filters()))
			}
		}
	}
	return v
}

// selectedNone says whether no catalogue spec of r was selected by its
// filters: none passed or failed, and none was skipped with a reason of its own
// (a spec the filters leave out is skipped without one).
func selectedNone(entries []catalogue.Entry, r *Run) bool {
	for _, e := range entries {
		if s := r.Specs[e.ID]; s != nil && (s.State == types.SpecStatePassed || s.failed() || s.Message != "") {
			return false
		}
	}
	return true
}

// requiredRan counts the Required entries whose spec ran (passed or failed) in r.
func requiredRan(entries []catalogue.Entry, r *Run) (ran, required int) {
	for _, e := range entries {
		if e.Level != catalogue.Required {
			continue
		}
		required++
		if s := r.Specs[e.ID]; s != nil && (s.State == types.SpecStatePassed || s.failed()) {
			ran++
		}
	}
	return ran, required
}

// outcome is how a cell of the matrix reads.
type outcome string

const (
	pass         outcome = "pass"
	fail         outcome = "fail"
	known        outcome = "known divergence"
	listedPassed outcome = "listed but passed"
	skipped      outcome = "skipped"
	notRun       outcome = "not run"
)

// judgement is how one catalogue ID fared in one run.
type judgement struct {
	outcome outcome
	// div is the run's profile's entry for the ID, if it lists one.
	div *profiles.Divergence
	// claim says who claims the ID ("profile gvisor", "--claim"), or "".
	claim string
	// why says what makes the outcome a failure beyond the spec's own message:
	// a Required spec skipped, a claim not kept, a failure the profile lists
	// the ID for but does not cover.
	why string
}

// judge says how the spec of e fared in r, against r's profile and the claims.
func judge(r *Run, e catalogue.Entry, o Options) judgement {
	var j judgement
	if d, ok := r.Profile.Lookup(e.ID); ok {
		j.div = &d
	}
	switch {
	case slices.Contains(o.Claims, e.ID):
		j.claim = "claimed with --claim"
	case r.Profile.Claims(e.ID):
		j.claim = "claimed by profile " + r.Profile.Name
	}
	s := r.Specs[e.ID]
	// Outside the filter: not selected, so the run says nothing about it.
	outside := r.Filtered() && (s == nil || (s.State == types.SpecStateSkipped && s.Message == ""))
	switch {
	case s == nil:
		j.outcome = notRun
		switch {
		// A run that failed outside its specs says why they did not run.
		case outside, len(r.Problems) > 0:
		case j.claim != "":
			j.outcome, j.why = fail, j.claim+", did not run"
		case e.Level == catalogue.Required:
			j.outcome, j.why = fail, "Required, did not run"
		}
	case s.failed():
		switch {
		case j.claim != "":
			j.outcome, j.why = fail, j.claim
			if j.div != nil {
				j.why += ", so the profile's divergence does not excuse it"
			}
		case j.div != nil && j.div.Covers(s.Message, s.Location):
			j.outcome = known
		case j.div != nil:
			j.outcome = fail
			j.why = fmt.Sprintf("profile %s lists %s but not this failure (match %q%s)", r.Profile.Name, e.ID, j.div.Match, at(s.Location))
		default:
			j.outcome = fail
		}
	case s.State == types.SpecStatePassed && j.div != nil:
		j.outcome = listedPassed
	case s.State == types.SpecStatePassed:
		j.outcome = pass
	default: // skipped or pending
		j.outcome = skipped
		switch {
		case outside:
		case j.claim != "":
			j.outcome, j.why = fail, j.claim+", skipped: "+firstLine(r.skipReason(s))
		case e.Level == catalogue.Required:
			j.outcome, j.why = fail, "Required, skipped: "+firstLine(r.skipReason(s))
		}
	}
	return j
}

func at(location string) string {
	if location == "" {
		return ""
	}
	return ", failed at " + location
}

// skipReason says why a spec was skipped: its own message, or that the run's
// filter did not select it.
func (r *Run) skipReason(s *Spec) string {
	switch {
	case s.Message != "":
		return s.Message
	case r.Filter != "":
		return fmt.Sprintf("not selected by the label filter %q", r.Filter)
	case r.Filtered():
		return "not selected by the run's filters (" + r.filters() + ")"
	}
	return "skipped without a reason (an interrupted or fail-fast run?)"
}

// tally counts the outcomes of a run, in catalogue order.
type tally struct {
	Passed, Failed, Known, ListedPassed, Skipped, NotRun int
}

func count(r *Run, entries []catalogue.Entry, o Options) tally {
	var t tally
	for _, e := range entries {
		switch judge(r, e, o).outcome {
		case pass:
			t.Passed++
		case fail:
			t.Failed++
		case known:
			t.Known++
		case listedPassed:
			t.ListedPassed++
		case skipped:
			t.Skipped++
		default:
			t.NotRun++
		}
	}
	return t
}
