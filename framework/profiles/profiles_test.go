package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podsem/podsem/framework/catalogue"
)

func TestEveryEmbeddedProfileLoads(t *testing.T) {
	names := Names()
	for _, want := range []string{"crio", "gvisor", "kata", "windows"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("no embedded profile %q (have %v)", want, names)
		}
	}
	for _, name := range names {
		p, err := Load(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if p.Name != name || p.Description == "" {
			t.Errorf("%s: name %q, description %q", name, p.Name, p.Description)
		}
		// Parse checks these too; spelled out here because they are the contract.
		for _, d := range p.Divergences {
			if !inCatalogue(d.ID) {
				t.Errorf("%s: %s is not in catalogue.Entries", name, d.ID)
			}
			if strings.TrimSpace(d.Reason) == "" || !strings.HasPrefix(d.Link, "https://") {
				t.Errorf("%s: %s needs a reason and an https link, has %q %q", name, d.ID, d.Reason, d.Link)
			}
		}
	}
}

func inCatalogue(id string) bool {
	for _, e := range catalogue.Entries {
		if e.ID == id {
			return true
		}
	}
	return false
}

func TestLoadUnknownNamesTheKnownOnes(t *testing.T) {
	_, err := Load("nosuch")
	if err == nil || !strings.Contains(err.Error(), "gvisor") || !strings.Contains(err.Error(), "kata") {
		t.Fatalf("want an error listing the known profiles, got %v", err)
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.yaml")
	id := catalogue.Entries[0].ID
	body := "description: my runtime\ndivergences:\n  - id: " + id + "\n    kind: environment\n    reason: nested\n    link: https://example.org/1\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := p.Lookup(id); p.Name != "mine" || !ok || d.Kind != Environment {
		t.Fatalf("got %+v", p)
	}
}

func TestParseRejects(t *testing.T) {
	id := catalogue.Entries[0].ID
	entry := func(fields string) string { return "description: x\ndivergences:\n  - " + fields + "\n" }
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown ID", entry("{id: XYZ-99, kind: runtime, reason: r, link: https://x}"), "not a catalogue ID"},
		{"no reason", entry("{id: " + id + ", kind: runtime, link: https://x}"), "no reason"},
		{"no link", entry("{id: " + id + ", kind: runtime, reason: r}"), "not an upstream URL"},
		{"bad kind", entry("{id: " + id + ", kind: flaky, reason: r, link: https://x}"), `kind "flaky"`},
		{"unknown field", entry("{id: " + id + ", kind: runtime, reason: r, link: https://x, note: n}"), "unknown field"},
		{"twice", entry("{id: "+id+", kind: runtime, reason: r, link: https://x}") + "  - {id: " + id + ", kind: runtime, reason: r, link: https://x}\n", "listed twice"},
	} {
		if _, err := Parse("t", []byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error with %q, got %v", tc.name, tc.want, err)
		}
	}
}
