package report

import (
	"fmt"
	"strings"

	"github.com/podsem/podsem/framework/catalogue"
	"github.com/podsem/podsem/framework/profiles"
)

// Verdict is the gate's judgement over one or more runs.
type Verdict struct {
	Lines        []string
	Unlisted     int // failed specs the profile does not list
	Known        int // failed specs the profile lists
	ListedPassed int
	Problems     int // failures outside catalogue specs, missing reports
}

// OK says whether the gate passes: every failed spec is listed in the profile
// and nothing failed outside the specs.
func (v Verdict) OK() bool { return v.Unlisted == 0 && v.Problems == 0 }

// Summary is the gate's last line, "gate: pass: ..." or "gate: FAIL: ...".
func (v Verdict) Summary(p *profiles.Profile) string {
	state := "pass"
	if !v.OK() {
		state = "FAIL"
	}
	var parts []string
	if v.Unlisted > 0 {
		if p != nil {
			parts = append(parts, fmt.Sprintf("%d failed, not in profile %s", v.Unlisted, p.Name))
		} else {
			parts = append(parts, fmt.Sprintf("%d failed", v.Unlisted))
		}
	}
	if v.Problems > 0 {
		parts = append(parts, fmt.Sprintf("%d suite problem(s)", v.Problems))
	}
	if v.Known > 0 {
		parts = append(parts, fmt.Sprintf("%d known divergence(s)", v.Known))
	}
	if v.ListedPassed > 0 {
		parts = append(parts, fmt.Sprintf("%d listed but passed", v.ListedPassed))
	}
	if len(parts) == 0 {
		parts = append(parts, "no failures")
	}
	return fmt.Sprintf("gate: %s: %s", state, strings.Join(parts, ", "))
}

// Gate judges runs against p (nil: no profile, so any failure fails): one line
// per failed spec, per listed spec that passed, and per suite problem. A timed
// out, panicked or interrupted spec is a failure like any other.
func Gate(runs []*Run, p *profiles.Profile) Verdict {
	var v Verdict
	for _, r := range runs {
		in := ""
		if len(runs) > 1 || r.Name != r.Path {
			in = " in " + r.Name
		}
		for _, prob := range r.Problems {
			v.Problems++
			v.Lines = append(v.Lines, fmt.Sprintf("FAIL   %s%s", prob, in))
		}
		for _, e := range catalogue.Entries {
			s := r.Specs[e.ID]
			switch o, d := judge(r, e.ID, p); o {
			case fail:
				v.Unlisted++
				v.Lines = append(v.Lines, fmt.Sprintf("FAIL   %s %s%s: %s", e.ID, s.State, in, firstLine(s.Message)))
			case known:
				v.Known++
				v.Lines = append(v.Lines, fmt.Sprintf("KNOWN  %s %s%s, known divergence in profile %s: %s (%s)",
					e.ID, s.State, in, p.Name, firstLine(d.Reason), d.Link))
			case listedPassed:
				v.ListedPassed++
				v.Lines = append(v.Lines, fmt.Sprintf("NOTE   %s listed in profile %s but passed%s", e.ID, p.Name, in))
			}
		}
	}
	return v
}
