package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/podsem/podsem/framework/catalogue"
)

// ginkgoJUnit is shaped like Ginkgo's JUnit report: a <testsuites> of one
// <testsuite>, suite nodes as testcases beside the specs.
const ginkgoJUnit = `<?xml version="1.0" encoding="UTF-8"?>
  <testsuites tests="4" disabled="0" errors="0" failures="1" time="2.5">
      <testsuite name="podsem pod semantics" tests="4" skipped="1" failures="1">
          <properties><property name="SuiteSucceeded" value="false"></property></properties>
          <testcase name="[SynchronizedBeforeSuite]" classname="podsem pod semantics" status="passed" time="0.1"></testcase>
          <testcase name="[It] network [NET-01] a TCP server [network, Required, NET-01]" classname="podsem pod semantics" status="passed" time="1"><system-err>ok</system-err></testcase>
          <testcase name="[It] ipc [IPC-03] a POSIX message queue [ipc, Required, IPC-03]" classname="podsem pod semantics" status="failed" time="1">
              <failure message="not shared" type="failed">[FAILED] not shared</failure>
          </testcase>
          <testcase name="[It] userns [USER-01] user namespaces [userns, Optional, USER-01]" classname="podsem pod semantics" status="skipped" time="0.4">
              <skipped message="skipped - not offered"></skipped>
          </testcase>
      </testsuite>
  </testsuites>`

func TestParseJUnit(t *testing.T) {
	cases, err := parseJUnit([]byte(ginkgoJUnit))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cases {
		got = append(got, c.Status+":"+c.Reason)
	}
	if want := []string{"passed:", "passed:", "failed:", "skipped:not offered"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}

	single := `<testsuite name="x"><testcase name="a"/><testcase name="b"><error message="panic"/></testcase><testcase name="c"><skipped message="skipped"/></testcase></testsuite>`
	cases, err = parseJUnit([]byte(single))
	if err != nil || len(cases) != 3 || cases[1].Status != failed || cases[2].Status != skipped || cases[2].Reason != "" {
		t.Errorf("a lone testsuite: %+v, %v", cases, err)
	}
	for _, bad := range []string{"not xml at all <", "<html><body/></html>"} {
		if _, err := parseJUnit([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestParseDetailed(t *testing.T) {
	out := `{"name":"[SynchronizedBeforeSuite]","status":"passed","meta":{"path":"podsem|junit.xml|podsem pod semantics"}}
{"name":"[It] network [NET-01] a TCP server [network, Required, NET-01]","status":"passed","details":{"system-err":"a\nb"}}

{"name":"[It] ipc [IPC-03] x [ipc, Required, IPC-03]","status":"failed","details":{"failure":"not shared"}}
`
	cases, err := parseDetailed([]byte(out))
	if err != nil || len(cases) != 3 || cases[2].Status != failed || !strings.Contains(cases[1].Name, "[NET-01]") {
		t.Errorf("got %+v, %v", cases, err)
	}
	cases, err = parseDetailed([]byte(`podsem|Container sonobuoy-worker is in a terminated state {"name":"Container sonobuoy-worker is in a terminated state","status":"failed"}` + "\n"))
	if err != nil || len(cases) != 1 || cases[0].Status != failed {
		t.Errorf("a plugin's error item: %+v, %v", cases, err)
	}
	if _, err := parseDetailed([]byte("Plugin: podsem\nStatus: passed\n")); err == nil {
		t.Error("the report mode's output is not the detailed mode's: want an error")
	}
}

// A small catalogue, one Required and one Optional ID per area of two areas.
var smallCatalogue = []catalogue.Entry{
	{ID: "NET-01", Area: "network", Level: catalogue.Required, Semantic: "tcp"},
	{ID: "NET-08", Area: "network", Level: catalogue.Optional, Semantic: "policy"},
	{ID: "IPC-01", Area: "ipc", Level: catalogue.Required, Semantic: "sysv"},
	{ID: "HOST-01", Area: "host", Level: catalogue.Optional, Semantic: "hostnet"},
}

// run is a run's testcases: status per ID, in catalogue order, and a suite node.
func run(statuses ...string) []testcase {
	cases := []testcase{{Name: "[SynchronizedBeforeSuite]", Status: passed}}
	for i, e := range smallCatalogue {
		cases = append(cases, testcase{Name: fmt.Sprintf("[It] %s [%s] %s [%s, %s, %s]", e.Area, e.ID, e.Semantic, e.Area, e.Level, e.ID), Status: statuses[i]})
	}
	return cases
}

func TestJudge(t *testing.T) {
	const gatePass = "gate: pass: no failures"
	const gatePartial = "gate: pass: partial: 1 of 2 Required IDs ran"
	sample := checkOptions{sample: []string{"NET-01", "HOST-01"}}
	for _, tc := range []struct {
		name  string
		cases []testcase
		gate  string
		o     checkOptions
		want  string // in the first problem; "" for none
	}{
		{"full, green", run(passed, passed, passed, passed), gatePass, checkOptions{}, ""},
		{"full, an Optional not offered", run(passed, skipped, passed, passed), gatePass, checkOptions{}, ""},
		{"full, a Required skipped", run(passed, passed, skipped, passed), gatePass, checkOptions{}, "IPC-01 (Required) skipped"},
		{"full, a failure", run(passed, failed, passed, passed), gatePass, checkOptions{}, "NET-08 (Optional) failed"},
		{"full, a failure the profile judges", run(passed, failed, passed, passed), "gate: pass: 1 known divergence(s)", checkOptions{profile: "gvisor"}, ""},
		{"full, the gate failed", run(passed, failed, passed, passed), "gate: FAIL: 1 failed", checkOptions{profile: "gvisor"}, "gate: FAIL"},
		{"full, no gate line", run(passed, passed, passed, passed), "", checkOptions{}, "no gate line"},
		{"full, judged partial", run(passed, passed, passed, passed), gatePartial, checkOptions{}, "a full run judged partial"},
		{"full, an ID missing", run(passed, passed, passed, passed)[:4], gatePass, checkOptions{}, "HOST-01 has 0 testcases"},
		{"full, an ID twice", append(run(passed, passed, passed, passed), run(passed, passed, passed, passed)[1]), gatePass, checkOptions{}, "NET-01 has 2 testcases"},
		{"full, a suite node failed", append(run(passed, passed, passed, passed), testcase{Name: "[SynchronizedBeforeSuite]", Status: failed}), gatePass, checkOptions{}, `"[SynchronizedBeforeSuite]" failed`},
		{"full, an unknown ID", append(run(passed, passed, passed, passed), testcase{Name: "[It] [XYZ-09] new", Status: passed}), gatePass, checkOptions{}, "XYZ-09 is no catalogue ID"},
		{"sample, green", run(passed, skipped, skipped, passed), gatePartial, sample, ""},
		{"sample, its Optional not offered", run(passed, skipped, skipped, skipped), gatePartial, sample, ""},
		{"sample, not judged partial", run(passed, skipped, skipped, passed), gatePass, sample, "did not judge it partial"},
		{"sample, not focused", run(passed, passed, passed, passed), gatePartial, sample, "NET-08 passed, but it is not in the sample"},
		{"sample, its Required skipped", run(skipped, skipped, skipped, passed), gatePartial, sample, "NET-01 (Required) skipped"},
		{"sonobuoy's unknown status", run(passed, skipped, skipped, "unknown"), gatePartial, sample, "HOST-01 (Optional) unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := judge(smallCatalogue, tc.cases, tc.gate, tc.o)
			switch {
			case tc.want == "" && len(v.problems) > 0:
				t.Errorf("problems %q, want none", v.problems)
			case tc.want != "" && (len(v.problems) == 0 || !strings.Contains(v.problems[0], tc.want)):
				t.Errorf("problems %q, want the first to say %q", v.problems, tc.want)
			}
			if len(v.lines) != len(smallCatalogue) {
				t.Errorf("%d lines, want one per catalogue ID: %q", len(v.lines), v.lines)
			}
		})
	}
	v := judge(smallCatalogue, run(passed, skipped, skipped, passed), gatePartial, sample)
	if want := "the sample, 2 of 4 catalogue IDs (NET-01,HOST-01): 2 passed, 0 failed, 0 skipped, 2 outside the sample skipped; launcher's " + gatePartial; v.summary != want {
		t.Errorf("summary %q, want %q", v.summary, want)
	}
}

func TestGateLine(t *testing.T) {
	log := "podsem: 9 passed\ngate: FAIL: early\n2026-12-03T17:00:00Z stdout F gate: pass: partial: 7 of 27 Required IDs ran\n"
	if got := gateLine([]byte(log)); got != "gate: pass: partial: 7 of 27 Required IDs ran" {
		t.Errorf("got %q", got)
	}
	if got := gateLine([]byte("no verdict\n")); got != "" {
		t.Errorf("got %q, want none", got)
	}
}

// The sample is one catalogue ID per area, every area.
func TestSample(t *testing.T) {
	areas := map[string]string{}
	for _, e := range catalogue.Entries {
		areas[e.Area] = ""
	}
	for _, id := range sample {
		e, ok := catalogue.Find(id)
		if !ok {
			t.Fatalf("%s is no catalogue ID", id)
		}
		if other := areas[e.Area]; other != "" {
			t.Errorf("area %s twice in the sample: %s and %s", e.Area, other, id)
		}
		areas[e.Area] = id
	}
	for area, id := range areas {
		if id == "" {
			t.Errorf("no sample ID for area %s", area)
		}
	}
	if err := checkFocus(sampleFocus()); err != nil {
		t.Error(err)
	}
}
