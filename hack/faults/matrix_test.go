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
	md := render(base, []row{r}, true, 0)
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
