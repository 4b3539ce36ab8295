// Package profiles holds the known-divergence profiles: per runtime family, the
// catalogue IDs whose specs are documented to fail there, each with the reason,
// an upstream link and the failure it covers, and the Optional IDs the runtime
// claims to support. A gated run passes when every failure is one its profile
// covers and every claimed ID passed; the report shows covered failures as
// known divergences, not as passes.
package profiles

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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

// Divergence is one known divergence: a catalogue ID whose spec is expected to
// fail, and how.
type Divergence struct {
	ID     string `json:"id"`
	Kind   Kind   `json:"kind"`
	Reason string `json:"reason"`
	// Link is the upstream issue or documentation that shows the divergence.
	Link string `json:"link"`
	// Match is a Go regexp that the documented failure's message or location
	// ("file.go:line") matches: a failure it does not match is not this
	// divergence, and fails the gate like any other.
	Match string `json:"match"`

	match *regexp.Regexp
}

// Covers says whether a failure, by its message and location, is the one the
// divergence documents.
func (d Divergence) Covers(message, location string) bool {
	if d.match == nil {
		return false
	}
	return d.match.MatchString(message) || (location != "" && d.match.MatchString(location))
}

// Profile is one runtime family's list of known divergences, and of the
// Optional semantics it claims.
type Profile struct {
	// Name is the file name without .yaml; it is what --podsem.profile takes.
	Name        string       `json:"-"`
	Description string       `json:"description"`
	Divergences []Divergence `json:"divergences"`
	// Supports lists Optional catalogue IDs the runtime claims: the gate fails
	// when one of them does not pass, where a skip would otherwise do.
	Supports []string `json:"supports"`
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

// Claims says whether the profile claims id (lists it under supports).
func (p *Profile) Claims(id string) bool {
	if p == nil {
		return false
	}
	for _, s := range p.Supports {
		if s == id {
			return true
		}
	}
	return false
}

// CheckClaim says why id cannot be claimed, or nil: only Optional catalogue
// IDs can; a Required one is claimed by the catalogue already.
func CheckClaim(id string) error {
	e, ok := catalogue.Find(id)
	switch {
	case !ok:
		return fmt.Errorf("%q is not a catalogue ID", id)
	case e.Level != catalogue.Optional:
		return fmt.Errorf("%s is %s, and only Optional IDs can be claimed", id, e.Level)
	}
	return nil
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
// listed once, a known kind, a reason, an http(s) link and a valid match regexp
// on every entry; every supported ID Optional, claimed once, and not also
// listed as a divergence.
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
	for i := range p.Divergences {
		d := &p.Divergences[i]
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
		if strings.TrimSpace(d.Match) == "" {
			problems = append(problems, where+": no match (a regexp for the failure message or location it covers)")
		} else if re, err := regexp.Compile(d.Match); err != nil {
			problems = append(problems, fmt.Sprintf("%s: match: %v", where, err))
		} else {
			d.match = re
		}
	}
	claimed := map[string]bool{}
	for _, id := range p.Supports {
		switch err := CheckClaim(id); {
		case err != nil:
			problems = append(problems, "supports: "+err.Error())
		case claimed[id]:
			problems = append(problems, "supports: "+id+" listed twice")
		case seen[id]:
			problems = append(problems, "supports: "+id+" is also listed as a divergence")
		}
		claimed[id] = true
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("profile %s: %s", name, strings.Join(problems, "; "))
	}
	return p, nil
}
