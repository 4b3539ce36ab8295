package main

import (
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/podsem/podsem/images/faults"
)

var demo = faults.Fault{
	Name:     "demo",
	Breaks:   "breaks NET-01",
	MustFail: []string{"NET-01"},
	MayFail:  map[string]string{"NET-02": "same socket layer"},
}

func res(states map[string]types.SpecState) result {
	return result{runtimeClass: "fault-demo", state: states}
}

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name   string
		states map[string]types.SpecState
		want   string
	}{
		{"exactly the declared ID fails", map[string]types.SpecState{"NET-01": types.SpecStateFailed, "NET-03": types.SpecStatePassed}, caught},
		{"a declared collateral may fail", map[string]types.SpecState{"NET-01": types.SpecStateFailed, "NET-02": types.SpecStateFailed}, caught},
		{"the declared ID passes", map[string]types.SpecState{"NET-01": types.SpecStatePassed}, missed},
		{"the declared ID is skipped", map[string]types.SpecState{"NET-01": types.SpecStateSkipped}, missed},
		{"an undeclared ID fails", map[string]types.SpecState{"NET-01": types.SpecStateFailed, "FS-01": types.SpecStateFailed}, unexpected},
		{"a spec times out", map[string]types.SpecState{"NET-01": types.SpecStateFailed, "FS-01": types.SpecStateTimedout}, unexpected},
	} {
		got := judge(demo, res(tc.states)).verdict
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: verdict %q, want %s", tc.name, got, tc.want)
		}
	}
}

func TestRenderNamesEachFaultAndCoverage(t *testing.T) {
	base := res(map[string]types.SpecState{"NET-01": types.SpecStatePassed})
	r := judge(demo, res(map[string]types.SpecState{"NET-01": types.SpecStateFailed, "NET-02": types.SpecStateFailed}))
	md := render(base, []row{r}, nil, true, 0)
	for _, want := range []string{
		"| fault-demo | breaks NET-01 | NET-01 | NET-01, NET-02 | caught |",
		"fault-demo also failed NET-02: same socket layer",
		"## Uncovered",
		"FS-01",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("faults.md lacks %q:\n%s", want, md)
		}
	}
}

func TestJudgeBenign(t *testing.T) {
	benign := faults.Fault{Name: "demo", Benign: true, Breaks: "differs"}
	base := res(map[string]types.SpecState{"NET-01": types.SpecStatePassed, "PID-02": types.SpecStatePassed, "USER-01": types.SpecStateSkipped})
	for _, tc := range []struct {
		name   string
		states map[string]types.SpecState
		want   string
	}{
		{"all as the baseline", map[string]types.SpecState{"NET-01": types.SpecStatePassed, "PID-02": types.SpecStatePassed, "USER-01": types.SpecStateSkipped}, clean},
		{"a Required ID fails", map[string]types.SpecState{"NET-01": types.SpecStateFailed, "PID-02": types.SpecStatePassed, "USER-01": types.SpecStateSkipped}, falseAlarm},
		{"a Required ID is skipped", map[string]types.SpecState{"NET-01": types.SpecStateSkipped, "PID-02": types.SpecStatePassed, "USER-01": types.SpecStateSkipped}, falseAlarm},
		{"an Optional ID the baseline passes is skipped", map[string]types.SpecState{"NET-01": types.SpecStatePassed, "PID-02": types.SpecStateSkipped, "USER-01": types.SpecStateSkipped}, falseAlarm},
		{"a Required ID does not run", map[string]types.SpecState{"PID-02": types.SpecStatePassed, "USER-01": types.SpecStateSkipped}, falseAlarm},
	} {
		got := judgeBenign(benign, res(tc.states), base).verdict
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: verdict %q, want %s", tc.name, got, tc.want)
		}
	}
}

func TestRenderShowsFalseAlarms(t *testing.T) {
	base := res(map[string]types.SpecState{"NET-01": types.SpecStatePassed})
	run := res(map[string]types.SpecState{"NET-01": types.SpecStateFailed})
	run.message = map[string]string{"NET-01": "Expected\n    <string>: x\nto equal y"}
	b := judgeBenign(faults.Fault{Name: "demo", Benign: true, Breaks: "differs"}, run, base)
	md := render(base, nil, []benignRow{b}, false, 0)
	for _, want := range []string{
		"| benign-demo | differs | 0 passed, 1 failed, 0 skipped | FALSE ALARM: NET-01 (failed) |",
		"- benign-demo, NET-01 failed: `Expected / <string>: x / to equal y`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("faults.md lacks %q:\n%s", want, md)
		}
	}
}
