package catalogue

import (
	"strings"
	"testing"
)

func specsForAll() []Spec {
	var specs []Spec
	for _, e := range Entries {
		specs = append(specs, Spec{Text: e.Area + " " + e.Text(), Labels: e.Labels()})
	}
	return specs
}

func TestCheckAcceptsOneSpecPerID(t *testing.T) {
	if problems := Check(specsForAll()); len(problems) != 0 {
		t.Fatalf("want no problems, got %v", problems)
	}
}

func TestCheckFindsEveryKindOfDrift(t *testing.T) {
	specs := specsForAll()
	specs = specs[1:]                               // NET-01 has no spec
	specs = append(specs, specs[0])                 // NET-02 twice
	specs[1].Labels = []string{"network", "NET-03"} // NET-03 lacks Required
	specs = append(specs, Spec{Text: "[XYZ-99] something", Labels: nil}, Spec{Text: "no id at all"})
	problems := strings.Join(Check(specs), "\n")
	for _, want := range []string{
		"NET-01 has no spec",
		"NET-02 has 2 specs",
		`NET-03: spec lacks label "Required"`,
		"XYZ-99, which is not in the catalogue",
		`"no id at all" carries no catalogue ID`,
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}
}

func TestEntriesAreUniqueAndLabelled(t *testing.T) {
	ids := map[string]bool{}
	for _, e := range Entries {
		if ids[e.ID] {
			t.Errorf("duplicate ID %s", e.ID)
		}
		ids[e.ID] = true
		if e.Level != Required && e.Level != Optional {
			t.Errorf("%s: level %q", e.ID, e.Level)
		}
		if !strings.HasPrefix(e.ID, map[string]string{"network": "NET-", "ipc": "IPC-", "uts": "UTS-", "filesystem": "FS-", "pid": "PID-", "sandbox": "SBX-", "cgroup": "CG-", "host": "HOST-", "userns": "USER-"}[e.Area]) {
			t.Errorf("%s: ID does not match area %s", e.ID, e.Area)
		}
	}
}
