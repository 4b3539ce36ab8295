// Package profiles holds the known-divergence profiles: per runtime family, the
// catalogue IDs whose specs are documented to fail there, each with the reason
// and an upstream link. A gated run passes when every failure is listed in its
// profile; the report shows listed failures as known divergences, not as passes.
package profiles

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/podsem/podsem/framework/catalogue"
)

// Kind says why a semantic diverges.
type Kind string

const (
	// Runtime: the runtime is documented to behave differently.
	Runtime Kind = "runtime"
	// Environment: a limit of the test environment (a compatibility wrapper, a
	// nested setup), not of the runtime itself.
	Environment Kind = "environment"
)

// Divergence is one known divergence: a catalogue ID whose spec is expected to fail.
type Divergence struct {
	ID     string `json:"id"`
	Kind   Kind   `json:"kind"`
	Reason string `json:"reason"`
	// Link is the upstream issue or documentation that shows the divergence.
	Link string `json:"link"`
}

// Profile is one runtime family's list of known divergences.
type Profile struct {
	// Name is the file name without .yaml; it is what --podsem.profile takes.
	Name        string       `json:"-"`
	Description string       `json:"description"`
	Divergences []Divergence `json:"divergences"`
}

// Lookup returns the divergence listed for id.
func (p *Profile) Lookup(id string) (Divergence, bool) {
	if p == nil {
		return Divergence{}, false
	}
	for _, d := range p.Divergences {
		if d.ID == id {
			return d, true
		}
	}
	return Divergence{}, false
}

//go:embed *.yaml
var embedded embed.FS

// Names lists the embedded profiles, sorted.
func Names() []string {
	files, _ := embedded.ReadDir(".")
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(f.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Load returns the embedded profile name, or, when name is a path to a YAML
// file (it contains a slash or ends in .yaml), that file: a vendor can gate on a
// profile of its own without rebuilding anything.
func Load(name string) (*Profile, error) {
	if strings.ContainsRune(name, '/') || strings.HasSuffix(name, ".yaml") {
		raw, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %v", name, err)
		}
		return Parse(strings.TrimSuffix(filepath.Base(name), ".yaml"), raw)
	}
	raw, err := embedded.ReadFile(name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("unknown profile %q: known profiles are %s (or pass a path to a YAML file)", name, strings.Join(Names(), ", "))
	}
	return Parse(name, raw)
}

// Parse decodes a profile strictly and checks it: every ID in the catalogue and
// listed once, a known kind, a reason and an http(s) link on every entry.
func Parse(name string, raw []byte) (*Profile, error) {
	p := &Profile{Name: name}
	if err := yaml.UnmarshalStrict(raw, p); err != nil {
		return nil, fmt.Errorf("profile %s: %v", name, err)
	}
	known := map[string]bool{}
	for _, e := range catalogue.Entries {
		known[e.ID] = true
	}
	seen := map[string]bool{}
	var problems []string
	for i, d := range p.Divergences {
		where := fmt.Sprintf("entry %d (%s)", i+1, d.ID)
		switch {
		case d.ID == "":
			problems = append(problems, fmt.Sprintf("entry %d has no id", i+1))
		case !known[d.ID]:
			problems = append(problems, where+": not a catalogue ID")
		case seen[d.ID]:
			problems = append(problems, where+": listed twice")
		}
		seen[d.ID] = true
		if d.Kind != Runtime && d.Kind != Environment {
			problems = append(problems, fmt.Sprintf("%s: kind %q, want %s or %s", where, d.Kind, Runtime, Environment))
		}
		if strings.TrimSpace(d.Reason) == "" {
			problems = append(problems, where+": no reason")
		}
		if !strings.HasPrefix(d.Link, "https://") && !strings.HasPrefix(d.Link, "http://") {
			problems = append(problems, fmt.Sprintf("%s: link %q is not an upstream URL", where, d.Link))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("profile %s: %s", name, strings.Join(problems, "; "))
	}
	return p, nil
}
