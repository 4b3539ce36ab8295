package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/podsem/podsem/framework/catalogue"
	"github.com/podsem/podsem/images/faults"
)

const (
	caught     = "caught"
	missed     = "MISSED"
	unexpected = "UNEXPECTED"
	clean      = "clean"
	falseAlarm = "FALSE ALARM"
)

// row is one fault's line in the matrix.
type row struct {
	fault      faults.Fault
	wall       time.Duration
	failed     []string
	missed     []string // declared must-fail IDs that did not fail
	unexpected []string // failed IDs the fault does not declare
	collateral []string // declared may-fail IDs that failed
	verdict    string
}

// judge compares what failed under a fault with what it declares.
func judge(f faults.Fault, res result) row {
	r := row{fault: f, wall: res.wall, failed: res.ids(types.SpecStateFailed)}
	for _, id := range f.MustFail {
		if res.state[id] != types.SpecStateFailed {
			r.missed = append(r.missed, fmt.Sprintf("%s (%s)", id, stateOf(res, id)))
		}
	}
	for _, id := range r.failed {
		switch {
		case slices.Contains(f.MustFail, id):
		case f.MayFail[id] != "":
			r.collateral = append(r.collateral, id)
		default:
			r.unexpected = append(r.unexpected, id)
		}
	}
	// Specs that neither passed, failed nor were skipped (timed out, panicked,
	// interrupted) are not results a fault may produce.
	for _, e := range catalogue.Entries {
		switch st := res.state[e.ID]; st {
		case types.SpecStatePassed, types.SpecStateFailed, types.SpecStateSkipped, types.SpecStateInvalid:
		default:
			r.unexpected = append(r.unexpected, fmt.Sprintf("%s (%s)", e.ID, st))
		}
	}
	switch {
	case len(r.missed) > 0:
		r.verdict = missed + ": " + strings.Join(r.missed, ", ")
	case len(r.unexpected) > 0:
		r.verdict = unexpected + ": " + strings.Join(r.unexpected, ", ")
	default:
		r.verdict = caught
	}
	return r
}

// benignRow is one benign handler's line in the matrix.
type benignRow struct {
	handler    faults.Fault
	res        result
	falseAlarm []string // IDs that ended otherwise than a correct runtime's must
	verdict    string
}

// judgeBenign checks a run under a benign handler: every Required ID passes and
// every Optional one ends as under the baseline (passed, or skipped for the same
// want of a feature). Anything else is the suite failing a correct runtime.
func judgeBenign(f faults.Fault, res, base result) benignRow {
	r := benignRow{handler: f, res: res}
	for _, e := range catalogue.Entries {
		st, ran := res.state[e.ID]
		want, ranBase := base.state[e.ID]
		switch {
		case !ran && !ranBase: // not in this suite build
		case e.Level == catalogue.Required && st != types.SpecStatePassed:
			r.falseAlarm = append(r.falseAlarm, fmt.Sprintf("%s (%s)", e.ID, stateOf(res, e.ID)))
		case e.Level != catalogue.Required && (st != want || !ran):
			r.falseAlarm = append(r.falseAlarm, fmt.Sprintf("%s (%s; baseline %s)", e.ID, stateOf(res, e.ID), stateOf(base, e.ID)))
		}
	}
	r.verdict = clean
	if len(r.falseAlarm) > 0 {
		r.verdict = falseAlarm + ": " + strings.Join(r.falseAlarm, ", ")
	}
	return r
}

func stateOf(res result, id string) string {
	if st, ok := res.state[id]; ok {
		return st.String()
	}
	return "not run"
}

// render writes faults.md. Coverage (the uncovered list) is only meaningful
// when every fault ran.
func render(base result, rows []row, benign []benignRow, allFaults bool, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# podsem fault matrix\n\n")
	fmt.Fprintf(&b, "Each fault handler breaks one pod semantic on purpose; the suite must fail exactly the IDs it declares.\n")
	fmt.Fprintf(&b, "Each benign handler is a correct configuration that differs from the default; the suite must fail nothing under it.\n")
	fmt.Fprintf(&b, "Baseline `%s`: %s. Whole matrix: %s.\n\n", base.runtimeClass, base.summary(), took.Round(time.Second))
	if len(rows) > 0 {
		fmt.Fprintf(&b, "| fault | breaks | must fail | failed | verdict | took |\n|---|---|---|---|---|---|\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", r.fault.Handler(), r.fault.Breaks,
				list(r.fault.MustFail), list(r.failed), r.verdict, r.wall.Round(time.Second))
		}
	}
	var notes []string
	for _, r := range rows {
		for _, id := range r.collateral {
			notes = append(notes, fmt.Sprintf("- %s also failed %s: %s", r.fault.Handler(), id, r.fault.MayFail[id]))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, "\n## Declared collateral failures\n\n%s\n", strings.Join(notes, "\n"))
	}
	if len(benign) > 0 {
		fmt.Fprintf(&b, "\n## Benign handlers\n\n")
		fmt.Fprintf(&b, "Every Required ID must pass; every Optional one must end as under `%s`. Anything else is a false alarm: the spec, not the runtime, is wrong.\n\n", base.runtimeClass)
		fmt.Fprintf(&b, "| benign handler | differs from the default | result | verdict | took |\n|---|---|---|---|---|\n")
		for _, r := range benign {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.handler.Handler(), r.handler.Breaks,
				r.res.counts(), r.verdict, r.res.wall.Round(time.Second))
		}
		var alarms []string
		for _, r := range benign {
			for _, e := range catalogue.Entries {
				if !slices.ContainsFunc(r.falseAlarm, func(s string) bool { return strings.HasPrefix(s, e.ID+" ") }) {
					continue
				}
				msg := r.res.message[e.ID]
				if msg == "" {
					msg = "(no message)"
				}
				alarms = append(alarms, fmt.Sprintf("- %s, %s %s: %s", r.handler.Handler(), e.ID, stateOf(r.res, e.ID), firstLines(msg, 3)))
			}
		}
		if len(alarms) > 0 {
			fmt.Fprintf(&b, "\n### False alarms\n\n%s\n", strings.Join(alarms, "\n"))
		}
	}
	if allFaults {
		covered := map[string]bool{}
		for _, r := range rows {
			for _, id := range r.failed {
				covered[id] = true
			}
		}
		var uncovered []string
		for _, e := range catalogue.Entries {
			if !covered[e.ID] {
				uncovered = append(uncovered, e.ID)
			}
		}
		sort.Strings(uncovered)
		fmt.Fprintf(&b, "\n## Uncovered\n\n")
		if len(uncovered) == 0 {
			fmt.Fprintf(&b, "None: every catalogue ID failed under at least one fault.\n")
		} else {
			fmt.Fprintf(&b, "No fault failed: %s.\n", strings.Join(uncovered, ", "))
		}
	}
	return b.String()
}

// firstLines joins the first n non-empty lines of a failure message, for a table.
func firstLines(msg string, n int) string {
	var out []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" && len(out) < n {
			out = append(out, l)
		}
	}
	return "`" + strings.ReplaceAll(strings.Join(out, " / "), "`", "'") + "`"
}

func list(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
